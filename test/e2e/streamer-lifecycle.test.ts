import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { EventRecorder } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import {
  FAST_TIMING,
  GRACE_MS,
  HEARTBEAT_MS,
  keepBeating,
  streamer,
  strictlyIncreasing,
  TTL_MS,
  versionsOf,
  watch,
} from '../helpers/presence-clients.js';
import { sleep } from '../helpers/timing.js';

// One embedded-mode app for the file; each test uses its own streamer ids.
useCleanup();
let app: AppProcess;
beforeAll(async () => {
  app = await startApp({ env: FAST_TIMING });
});

const isReason = (reason: PresenceEvent['reason']) => (event: PresenceEvent) => event.reason === reason;

test('connect: the subscribe ack holds the snapshot, then exactly one online (connected) event', async () => {
  const viewer = await watch(app.url, ['life-connect', 'life-never-seen']);
  expect(viewer.snapshot).toEqual([
    { streamerId: 'life-connect', status: 'offline', since: 0, version: 0 },
    { streamerId: 'life-never-seen', status: 'offline', since: 0, version: 0 },
  ]);

  const before = Date.now();
  let sessions!: EventRecorder<Record<string, unknown>>;
  const socket = await streamer(app.url, 'life-connect', { beforeConnect: (s) => (sessions = new EventRecorder(s, 'session')) });
  const session = await sessions.waitFor();
  expect(session.payload).toMatchObject({ streamerId: 'life-connect', heartbeatIntervalMs: HEARTBEAT_MS, presenceTtlMs: TTL_MS });

  const online = await viewer.events.waitFor();
  expect(online.payload).toMatchObject({ streamerId: 'life-connect', status: 'online', reason: 'connected' });
  expect(online.payload.since).toBeGreaterThanOrEqual(before);
  const stop = keepBeating(socket);
  await viewer.events.expectNoneFor(3 * HEARTBEAT_MS);
  stop();
  expect(viewer.events.count).toBe(1);
});

test('close: disconnected comes after the grace, never before it, and only once', async () => {
  const viewer = await watch(app.url, ['life-close']);
  const socket = await streamer(app.url, 'life-close');
  await viewer.events.waitFor(isReason('connected'));

  const closedAt = Date.now();
  socket.close();
  const offline = await viewer.events.waitFor(isReason('disconnected'), GRACE_MS + 5_000);
  expect(offline.at).toBeGreaterThanOrEqual(closedAt + GRACE_MS);
  expect(offline.payload.status).toBe('offline');
  expect(offline.payload.since).toBeGreaterThanOrEqual(closedAt + GRACE_MS);
  await viewer.events.expectNoneFor(TTL_MS);
  expect(viewer.events.payloads().map((e) => e.reason)).toEqual(['connected', 'disconnected']);
  expect(strictlyIncreasing(versionsOf(viewer.events.all()))).toBe(true);
});

test('a reconnect inside the grace, and heartbeats on time, produce no event at all', async () => {
  const viewer = await watch(app.url, ['life-reconnect']);
  const first = await streamer(app.url, 'life-reconnect');
  await viewer.events.waitFor(isReason('connected'));
  const seen = viewer.events.count;

  first.close();
  // A moment, not a share of the grace: the reconnect's own handshake must fit in what is left of it,
  // with the other core busy too.
  await sleep(50);
  const second = await streamer(app.url, 'life-reconnect');
  const stop = keepBeating(second);
  // Well past the old connection's grace and past several TTLs of the new one.
  await viewer.events.expectNoneFor(GRACE_MS + 2 * TTL_MS);
  stop();
  expect(viewer.events.count).toBe(seen);
});

test('silence: timeout once the TTL passes, and a later heartbeat brings the streamer back', async () => {
  const viewer = await watch(app.url, ['life-silent']);
  const connectedAt = Date.now();
  const socket = await streamer(app.url, 'life-silent');
  await viewer.events.waitFor(isReason('connected'));

  // The socket stays open (Socket.IO pings keep it up) but sends no heartbeat.
  const offline = await viewer.events.waitFor(isReason('timeout'), TTL_MS + 5_000);
  expect(offline.at).toBeGreaterThanOrEqual(connectedAt + TTL_MS);
  expect(offline.payload.status).toBe('offline');

  const afterOffline = viewer.events.count;
  const ack = await socket.timeout(5_000).emitWithAck('heartbeat');
  expect(ack).toMatchObject({ ok: true, nextHeartbeatMs: HEARTBEAT_MS });
  const back = await viewer.events.waitFor(isReason('connected'), 5_000, afterOffline);
  expect(back.payload.status).toBe('online');
  socket.close();
  expect(strictlyIncreasing(versionsOf(viewer.events.all()))).toBe(true);
});

test('end: offline at once (ended) whatever other connections the streamer has; a heartbeat revives it', async () => {
  const viewer = await watch(app.url, ['life-end']);
  const phone = await streamer(app.url, 'life-end');
  const laptop = await streamer(app.url, 'life-end');
  await viewer.events.waitFor(isReason('connected'));

  const endedAt = Date.now();
  expect(await phone.timeout(5_000).emitWithAck('end')).toEqual({ ok: true });
  const ended = await viewer.events.waitFor(isReason('ended'));
  expect(ended.at - endedAt).toBeLessThan(1_000);
  expect(ended.payload.status).toBe('offline');

  // Closing the ended connection changes nothing; a heartbeat on the other one brings it back.
  phone.close();
  await viewer.events.expectNoneFor(GRACE_MS + 300);
  await laptop.timeout(5_000).emitWithAck('heartbeat');
  await viewer.events.waitFor(isReason('connected'), 5_000, 2);
  expect(viewer.events.payloads().map((e) => e.reason)).toEqual(['connected', 'ended', 'connected']);
  expect(strictlyIncreasing(versionsOf(viewer.events.all()))).toBe(true);
});

test('meta: a changed meta is published once, an unchanged one is not, and reads show it', async () => {
  const viewer = await watch(app.url, ['life-meta']);
  const socket = await streamer(app.url, 'life-meta');
  // Online for the whole test (a heartbeat without `meta` leaves it as it is).
  const stop = keepBeating(socket);
  await viewer.events.waitFor(isReason('connected'));

  const meta = { title: 'Late night set', viewers: 12, mature: false, game: null };
  await socket.timeout(5_000).emitWithAck('heartbeat', { meta });
  const changed = await viewer.events.waitFor(isReason('meta'));
  expect(changed.payload).toMatchObject({ status: 'online', meta });

  await socket.timeout(5_000).emitWithAck('heartbeat', { meta });
  await viewer.events.expectNoneFor(300);
  const read = await fetch(`${app.url}/v1/streamers/life-meta/presence`).then((res) => res.json());
  expect(read).toMatchObject({ status: 'online', meta, version: changed.payload.version });

  const again = await watch(app.url, ['life-meta']);
  expect(again.snapshot[0]).toMatchObject({ status: 'online', meta, version: changed.payload.version });
  expect(strictlyIncreasing(versionsOf(viewer.events.all()))).toBe(true);
  stop();
});

test('two connections: online until both are gone, then exactly one offline', async () => {
  const viewer = await watch(app.url, ['life-two']);
  const a = await streamer(app.url, 'life-two');
  const b = await streamer(app.url, 'life-two');
  const stop = keepBeating(b);
  await viewer.events.waitFor(isReason('connected'));

  a.close();
  await viewer.events.expectNoneFor(GRACE_MS + 500);
  stop();
  b.close();
  await viewer.events.waitFor(isReason('disconnected'), GRACE_MS + 5_000);
  await viewer.events.expectNoneFor(500);
  expect(viewer.events.payloads().map((e) => e.reason)).toEqual(['connected', 'disconnected']);
});

test('an unsubscribed viewer receives nothing more', async () => {
  const viewer = await watch(app.url, ['life-unsub']);
  expect(await viewer.socket.timeout(5_000).emitWithAck('unsubscribe', { streamerIds: ['life-unsub'] })).toEqual({ ok: true });
  await streamer(app.url, 'life-unsub');
  await viewer.events.expectNoneFor(500);
});
