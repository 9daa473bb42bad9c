// What one connection may do to the wire, spoken raw (Engine.IO v4 / Socket.IO v5 frames over a plain
// WebSocket): one socket per namespace, a bounded number of refused CONNECTs, no binary attachments, no
// ping-frame flood, no sustained message flood. Each abuse costs the abuser its connection; a control
// streamer on the same pod keeps heartbeating through all of it.
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RawClient, rawClient, sendTogether } from '../helpers/raw-engine-client.js';
import { FAST_TIMING, streamer } from '../helpers/presence-clients.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { signToken } from '../helpers/tokens.js';

useCleanup();

let app: AppProcess;
beforeAll(async () => {
  app = await startApp({ env: FAST_TIMING });
});

/** A raw Engine.IO WebSocket to the pod, open. */
const raw = (): Promise<RawClient> => rawClient(app.port);

const untilClosed = (client: RawClient) => waitUntil(() => client.closed, 5_000, 20);

const viewerConnect = (sub: string) => `40/viewer,${JSON.stringify({ token: signToken({ sub, role: 'viewer' }) })}`;
const sids = (client: RawClient) => client.frames.filter((f) => f.startsWith('40/viewer,{"sid"'));
const refusals = (client: RawClient) => client.frames.filter((f) => f.startsWith('44/viewer,'));

// Socket.IO itself closes a connection that sends CONNECT for a namespace it has joined, but not for
// those still in flight: our guard (connection-guard.ts `onePerNamespace`) refuses them.
test('CONNECTs to one namespace sent together over one connection: one socket, the others refused, the connection kept', async () => {
  const client = await raw();
  // With a token, so the first CONNECT is still in its (asynchronous) verification when the others come.
  sendTogether(client, Array.from({ length: 5 }, () => viewerConnect('v-five')));
  await client.next(/^40\/viewer,\{"sid"/);
  await waitUntil(() => refusals(client).length >= 4, 5_000, 20);
  await sleep(200);
  expect(sids(client)).toHaveLength(1);
  expect(refusals(client)).toHaveLength(4);
  expect(refusals(client).every((f) => f.includes('too_many_sockets'))).toBe(true);
  // Four refusals are within the budget: the one socket is open and answers.
  expect(client.closed).toBe(false);
  client.send('42/viewer,7["subscribe",{"streamerIds":["wire-s"]}]');
  expect(await client.next(/^43\/viewer,7/)).toContain('"ok":true');
  client.ws.terminate();
});

test('fifty CONNECTs to one namespace over one connection: never more than one socket, and the connection is cut', async () => {
  const client = await raw();
  // In one read the 21st CONNECT cuts the connection before any token check is through (none answered);
  // spread over reads, the first may get its socket before the refusals past the budget cut it.
  sendTogether(client, Array.from({ length: 50 }, () => viewerConnect('v-many')));
  await untilClosed(client);
  expect(sids(client).length).toBeLessThanOrEqual(1);
  expect(refusals(client).every((f) => f.includes('too_many_sockets'))).toBe(true);
});

test('refused CONNECTs past the limit cut the connection', async () => {
  const client = await raw();
  for (let i = 0; i < 20 && !client.closed; i += 1) {
    client.send('40/streamer,');
    await sleep(10);
  }
  await untilClosed(client);
});

test('a packet announcing binary attachments closes its connection at once', async () => {
  const client = await raw();
  client.send('40/viewer,');
  await client.next(/^40\/viewer,\{"sid"/);
  client.send('451-/viewer,["subscribe",{"_placeholder":true,"num":0}]');
  await untilClosed(client);
});

test('a ping-frame flood closes its connection', async () => {
  const client = await raw();
  for (let i = 0; i < 200 && !client.closed; i += 1) client.ws.ping();
  await untilClosed(client);
});

test('a sustained message flood closes its connection; a control streamer is served throughout', async () => {
  const control = await streamer(app.url, 'wire-control');
  const token = signToken({ sub: 'wire-flooder', role: 'streamer' });
  const client = await raw();
  client.send(`40/streamer,${JSON.stringify({ token })}`);
  await client.next(/^40\/streamer,\{"sid"/);
  // 100 heartbeats a second against a limit of 10 (bursts of 20).
  const flood = setInterval(() => {
    for (let i = 0; i < 10; i += 1) client.send('42/streamer,["heartbeat"]');
  }, 100);
  const acks: number[] = [];
  try {
    for (let i = 0; i < 10 && !client.closed; i += 1) {
      const sentAt = Date.now();
      expect(await control.timeout(2_000).emitWithAck('heartbeat')).toMatchObject({ ok: true });
      acks.push(Date.now() - sentAt);
      await sleep(200);
    }
    await untilClosed(client);
  } finally {
    clearInterval(flood);
  }
  expect(control.connected).toBe(true);
  control.close();
});

test('CONNECTs to the main namespace or to one that does not exist are refused and count: past 10, the connection is cut', async () => {
  const main = await raw();
  main.send('40');
  await main.next(/^44\{/);
  for (let i = 0; i < 12 && !main.closed; i += 1) {
    main.send(i % 2 === 0 ? '40/nope,' : '40/admin,{"token":"x"}');
    await sleep(10);
  }
  await untilClosed(main);
  expect(main.frames.some((f) => f.startsWith('40{"sid"'))).toBe(false);
});

test('the message budget is one per connection: what its /viewer socket spent, its /streamer socket cannot', async () => {
  const client = await raw();
  client.send(`40/streamer,${JSON.stringify({ token: signToken({ sub: 'one-budget', role: 'streamer' }) })}`);
  await client.next(/^40\/streamer,\{"sid"/);
  client.send('40/viewer,');
  await client.next(/^40\/viewer,\{"sid"/);
  // The burst (twice the rate of 10) spent on /viewer...
  for (let i = 0; i < 20; i += 1) client.send(`42/viewer,${i}["unsubscribe",{"streamerIds":["a"]}]`);
  await client.next(/^43\/viewer,19/);
  // ...leaves nothing for /streamer.
  client.send('42/streamer,99["heartbeat"]');
  expect(await client.next(/^43\/streamer,99/)).toContain('rate_limited');
  client.ws.terminate();
});
