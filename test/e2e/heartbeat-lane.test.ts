// The heartbeat lane (src/presence/transport/event-lane.ts) takes most heartbeats before Socket.IO's
// dispatch. What a client must not be able to tell: the order its messages are handled in, the ack it
// gets on either transport, and what a heartbeat the lane leaves to Socket.IO does. Spoken raw (Engine.IO
// v4 / Socket.IO v5 frames over a plain WebSocket) where the frames must reach the pod in one read.
import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RawClient, rawClient, sendTogether } from '../helpers/raw-engine-client.js';
import { FAST_TIMING, streamer, TTL_MS, watch } from '../helpers/presence-clients.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { signToken } from '../helpers/tokens.js';

useCleanup();

let app: AppProcess;
beforeAll(async () => {
  app = await startApp({ env: FAST_TIMING });
});

/** A raw WebSocket with a `/streamer` socket of `streamerId`, connected (its `session` received). */
async function rawStreamer(streamerId: string): Promise<RawClient> {
  const client = await rawClient(app.port);
  client.send(`40/streamer,${JSON.stringify({ token: signToken({ sub: streamerId, role: 'streamer' }) })}`);
  await client.next(/^42\/streamer,\["session"/);
  return client;
}

const presence = async (streamerId: string) => ((await fetch(`${app.url}/v1/streamers/${streamerId}/presence`)).json()) as Promise<{ status: string }>;
const reasons = (events: readonly { payload: PresenceEvent }[]) => events.map((e) => e.payload.reason);

test('end then heartbeat in one read: handled in that order, so the streamer ends and comes back online', async () => {
  const viewer = await watch(app.url, ['lane-end-beat']);
  const client = await rawStreamer('lane-end-beat');
  await viewer.events.waitFor((e) => e.reason === 'connected');

  // `end` goes Socket.IO's way (the lane is for heartbeats only); the heartbeat behind it must wait for it.
  sendTogether(client, ['42/streamer,1["end"]', '42/streamer,2["heartbeat",{}]']);
  await client.next(/^43\/streamer,1\[/);
  await client.next(/^43\/streamer,2\[/);
  expect(client.frames.find((f) => f.startsWith('43/streamer,1['))).toBe('43/streamer,1[{"ok":true}]');
  expect(client.frames.find((f) => f.startsWith('43/streamer,2['))).toMatch(/^43\/streamer,2\[\{"ok":true,"serverTime":\d+,"nextHeartbeatMs":400\}\]$/);
  await viewer.events.waitFor((e) => e.reason === 'connected', 5_000, 2);
  expect(reasons(viewer.events.all())).toEqual(['connected', 'ended', 'connected']);
  expect(await presence('lane-end-beat')).toMatchObject({ status: 'online' });
  client.ws.close();
});

test('heartbeat then end in one read: the end comes last, the streamer stays offline', async () => {
  const viewer = await watch(app.url, ['lane-beat-end']);
  const client = await rawStreamer('lane-beat-end');
  await viewer.events.waitFor((e) => e.reason === 'connected');

  sendTogether(client, ['42/streamer,1["heartbeat",{}]', '42/streamer,2["end"]']);
  await client.next(/^43\/streamer,2\[/);
  await viewer.events.waitFor((e) => e.reason === 'ended');
  await viewer.events.expectNoneFor(300);
  expect(reasons(viewer.events.all())).toEqual(['connected', 'ended']);
  expect(await presence('lane-beat-end')).toMatchObject({ status: 'offline' });
  client.ws.close();
});

test('over long-polling, where the lane writes through engine.io, heartbeats are acked as over a WebSocket', async () => {
  const socket = await streamer(app.url, 'lane-polling', { transports: ['polling'] });
  expect(socket.io.engine.transport.name).toBe('polling');
  for (let i = 0; i < 3; i++) {
    expect(await socket.timeout(5_000).emitWithAck('heartbeat', { meta: { title: `take ${i}` } })).toEqual({ ok: true, serverTime: expect.any(Number), nextHeartbeatMs: 400 });
  }
  expect(await presence('lane-polling')).toMatchObject({ status: 'online', meta: { title: 'take 2' } });
  socket.close();
});

test('a heartbeat sent without an ack id, which the lane leaves to Socket.IO, still keeps the streamer online', async () => {
  const viewer = await watch(app.url, ['lane-no-ack']);
  const client = await rawStreamer('lane-no-ack');
  await viewer.events.waitFor((e) => e.reason === 'connected');
  // Two TTLs of heartbeats that ask for no answer: no timeout.
  for (const until = Date.now() + 2 * TTL_MS; Date.now() < until; ) {
    client.ws.send('42/streamer,["heartbeat",{}]');
    await sleep(TTL_MS / 4);
  }
  expect(reasons(viewer.events.all())).toEqual(['connected']);
  expect(client.frames.filter((f) => f.startsWith('43/streamer,'))).toEqual([]);
  client.ws.close();
});

test('a heartbeat for the namespace after the socket left it is not answered: Socket.IO closes the connection, as before the lane', async () => {
  const client = await rawStreamer('lane-left');
  client.send('41/streamer,');
  await sleep(200);
  client.send('42/streamer,3["heartbeat",{}]');
  await waitUntil(() => client.closed, 5_000, 20);
  expect(client.frames.filter((f) => f.startsWith('43/streamer,'))).toEqual([]);
});
