// Limits per client address: new handshakes (429 on both transports), HTTP API requests (429), and the
// subscriptions one address may hold on a pod (too_many_subscriptions), with the address taken from
// X-Forwarded-For only as far as the trusted proxies go.
import { type AppProcess, startApp } from '../helpers/app-process.js';
import type { Socket } from 'socket.io-client';
import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';
import { connectViewer, EventRecorder } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, beatingStreamer } from '../helpers/presence-clients.js';
import { rawHandshake } from '../helpers/raw-handshake.js';
import { sleep } from '../helpers/timing.js';

useCleanup();

let app: AppProcess;
beforeAll(async () => {
  app = await startApp({
    env: { ...FAST_TIMING, TRUSTED_PROXY_HOPS: '1', HANDSHAKE_RATE_PER_ADDRESS: '5', HTTP_RATE_PER_ADDRESS: '5', SUBSCRIPTIONS_PER_ADDRESS: '150' },
  });
});

const from = (address: string) => ({ 'X-Forwarded-For': address });

test('handshakes past the rate (5/s, bursts of 10) from one address get 429 with Retry-After, on both transports; other addresses do not', async () => {
  const answers = [];
  for (let i = 0; i < 14; i += 1) answers.push(await rawHandshake(app.port, i % 2 === 0 ? 'polling' : 'websocket', from('203.0.113.1')));
  const statuses = answers.map((a) => a.status);
  expect(statuses.slice(0, 10).every((s) => s === 200 || s === 101)).toBe(true);
  expect(statuses.slice(11)).toEqual([429, 429, 429]);
  expect(answers.at(-1)!.headers['retry-after']).toBe('1');
  // Another client behind the same proxy has its own budget...
  expect((await rawHandshake(app.port, 'polling', from('203.0.113.2'))).status).toBe(200);
  // ...and what a client writes itself, left of what the proxy appended, is not believed.
  expect((await rawHandshake(app.port, 'polling', from('198.51.100.7, 203.0.113.1'))).status).toBe(429);
});

test('HTTP API requests past the rate get 429 rate_limited; probes are never limited', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 14; i += 1) statuses.push((await fetch(`${app.url}/v1/streamers/nobody/presence`, { headers: from('203.0.113.9') })).status);
  expect(statuses.slice(0, 10)).toEqual(Array(10).fill(200));
  expect(statuses.slice(11)).toEqual([429, 429, 429]);
  // Express matches paths whatever their case; the limit counts them all the same.
  expect((await fetch(`${app.url}/V1/streamers/nobody/presence`, { headers: from('203.0.113.9') })).status).toBe(429);
  const limited = await fetch(`${app.url}/v1/streamers/nobody/presence`, { headers: from('203.0.113.9') });
  expect({ status: limited.status, retryAfter: limited.headers.get('retry-after'), body: await limited.json() }).toEqual({
    status: 429,
    retryAfter: '1',
    body: { error: { code: 'rate_limited', message: expect.any(String) } },
  });
  for (let i = 0; i < 30; i += 1) expect((await fetch(`${app.url}/healthz`, { headers: from('203.0.113.9') })).status).toBe(200);
});

test('one address holds at most 150 subscriptions on a pod, over all its sockets; unsubscribing and leaving give them back', async () => {
  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const options = { extraHeaders: from('203.0.113.20') };
  const a = await connectViewer(app.url, undefined, options);
  const b = await connectViewer(app.url, undefined, options);
  expect(await a.timeout(5_000).emitWithAck('subscribe', { streamerIds: ids('a', 100) })).toMatchObject({ ok: true });
  expect(await b.timeout(5_000).emitWithAck('subscribe', { streamerIds: ids('b', 100) })).toMatchObject({ ok: false, error: { code: 'too_many_subscriptions' } });
  expect(await b.timeout(5_000).emitWithAck('subscribe', { streamerIds: ids('b', 50) })).toMatchObject({ ok: true });
  // Ids a socket already holds do not count twice.
  expect(await a.timeout(5_000).emitWithAck('subscribe', { streamerIds: ids('a', 10) })).toMatchObject({ ok: true });
  expect(await a.timeout(5_000).emitWithAck('unsubscribe', { streamerIds: ids('a', 10) })).toEqual({ ok: true });
  expect(await b.timeout(5_000).emitWithAck('subscribe', { streamerIds: ids('c', 10) })).toMatchObject({ ok: true });
  // Another address is not affected.
  const other = await connectViewer(app.url, undefined, { extraHeaders: from('203.0.113.21') });
  expect(await other.timeout(5_000).emitWithAck('subscribe', { streamerIds: ids('d', 100) })).toMatchObject({ ok: true });
  a.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await b.timeout(5_000).emitWithAck('subscribe', { streamerIds: ids('e', 90) })).toMatchObject({ ok: true });
  b.close();
  other.close();
});

// An address's accepted subscriptions are joined one request per turn of the event loop (finding 18);
// what a socket sends in one burst must still end as if handled in order.
describe('a burst of requests from one address, taken one per turn', () => {
  /** Sends the requests at once: their acks, and the order in which the answers came. */
  const burst = async (socket: Socket, requests: Array<['subscribe' | 'unsubscribe', string[]]>) => {
    const answered: number[] = [];
    const acks = await Promise.all(
      requests.map(async ([event, streamerIds], i) => {
        const ack = await socket.timeout(5_000).emitWithAck(event, { streamerIds });
        answered.push(i);
        return ack;
      }),
    );
    return { acks, answered };
  };

  /** Two streamers come online together: the viewer hears `heard`, and nothing of `unheard`. */
  const expectOnlyHeard = async (events: EventRecorder<PresenceEvent>, heard: string, unheard: string) => {
    const streamers = [await beatingStreamer(app.url, unheard), await beatingStreamer(app.url, heard)];
    await events.waitFor((event) => event.streamerId === heard && event.status === 'online');
    await sleep(300); // the two came online together; the other's event would be here by now
    expect(events.payloads().filter((event) => event.streamerId === unheard)).toEqual([]);
    for (const s of streamers) {
      s.stop();
      s.socket.close();
    }
  };

  test('an unsubscribe sent right behind its subscribe wins: no event for that streamer', async () => {
    const viewer = await connectViewer(app.url, undefined, { extraHeaders: from('203.0.113.30') });
    const events = new EventRecorder<PresenceEvent>(viewer, 'presence');
    const { acks } = await burst(viewer, [
      ['subscribe', ['turns-kept']],
      ['subscribe', ['turns-dropped']],
      ['subscribe', ['turns-kept-2']],
      ['unsubscribe', ['turns-dropped']],
    ]);
    expect(acks.map((ack) => ack.ok)).toEqual([true, true, true, true]);
    await expectOnlyHeard(events, 'turns-kept-2', 'turns-dropped');
    viewer.close();
  });

  test("a socket's answers come in the order of its requests, and each id ends as its last request left it", async () => {
    const viewer = await connectViewer(app.url, undefined, { extraHeaders: from('203.0.113.32') });
    const events = new EventRecorder<PresenceEvent>(viewer, 'presence');
    const { acks, answered } = await burst(viewer, [
      ['subscribe', ['order-a']],
      ['subscribe', ['order-b']], // waits for the address's next turn
      ['unsubscribe', ['order-b']],
      ['subscribe', ['order-b']],
      ['unsubscribe', ['order-a']],
    ]);
    expect(acks.map((ack) => ack.ok)).toEqual([true, true, true, true, true]);
    expect(answered).toEqual([0, 1, 2, 3, 4]);
    await expectOnlyHeard(events, 'order-b', 'order-a');
    viewer.close();
  });
});

test('requests naming a session the pod does not hold count against the handshake rate', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 14; i += 1) {
    statuses.push((await fetch(`${app.url}/socket.io/?EIO=4&transport=polling&sid=made-up-${i}`, { headers: from('203.0.113.40') })).status);
  }
  // engine.io's own answer (400, unknown session) for the burst, then 429.
  expect(statuses.slice(0, 10).every((s) => s === 400)).toBe(true);
  expect(statuses.slice(11)).toEqual([429, 429, 429]);
});
