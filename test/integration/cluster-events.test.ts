// Three pods on one Redis: presence is one cluster-wide fact, delivered once per viewer on every pod.
import type { Socket } from 'socket.io-client';
import type { PresenceEvent, PresenceState } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
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
import { allGet, noneFor, type PodViewer } from '../helpers/pod-viewers.js';
import { startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';

/** The contract promises offline within 1 s after its deadline (p99); half a second more for a loaded CI box. */
const OFFLINE_WITHIN_MS = 1_500;
/** The contract promises online within 100 ms (p99); this only catches "never" and "one pod late". */
const ONLINE_WITHIN_MS = 1_000;

useCleanup();
let a: AppProcess;
let b: AppProcess;
let c: AppProcess;
beforeAll(async () => {
  const redis = await startRedis();
  const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `cluster-events-${process.pid}:` };
  [a, b, c] = await Promise.all([0, 1, 2].map(() => startApp({ env, redisUrl: redis.url })));
  await Promise.all([a, b, c].map(untilReady));
}, 60_000);

async function untilReady(app: AppProcess): Promise<void> {
  await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
}

async function readPresence(app: AppProcess, id: string): Promise<PresenceState> {
  const res = await fetch(`${app.url}/v1/streamers/${id}/presence`);
  expect(res.status).toBe(200);
  return (await res.json()) as PresenceState;
}

const reasons = (viewer: PodViewer): string[] => viewer.events.payloads().map((e) => e.reason);

/** A viewer and the pod it is connected to, for failure messages. */

async function watchOn(pod: string, app: AppProcess, id: string): Promise<PodViewer> {
  return { ...(await watch(app.url, [id])), pod };
}



async function heartbeat(socket: Socket, payload?: unknown): Promise<void> {
  const ack = await socket.timeout(3_000).emitWithAck('heartbeat', ...(payload === undefined ? [] : [payload]));
  expect(ack).toMatchObject({ ok: true });
}

test('a streamer on pod A: each viewer on A, B and C gets exactly one online, and the same version', async () => {
  const id = 'cl-online';
  const viewers = await Promise.all([watchOn('A', a, id), watchOn('B', b, id), watchOn('B', b, id), watchOn('C', c, id)]);
  for (const viewer of viewers) expect(viewer.snapshot).toEqual([{ streamerId: id, status: 'offline', since: 0, version: 0 }]);

  const socket = await streamer(a.url, id);
  const connectedAt = Date.now();
  const stop = keepBeating(socket);
  const online = await allGet(viewers, 'connected', 0);
  for (const event of online) {
    expect(event.payload).toMatchObject({ streamerId: id, status: 'online' });
    expect(event.at - connectedAt).toBeLessThan(ONLINE_WITHIN_MS);
  }
  expect(new Set(online.map((e) => e.payload.version)).size).toBe(1);

  // Heartbeats on time, seen from three pods: nothing more, ever.
  await noneFor(viewers, 3 * HEARTBEAT_MS);
  for (const viewer of viewers) expect(reasons(viewer)).toEqual(['connected']);
  for (const app of [a, b, c]) {
    expect(await readPresence(app, id)).toMatchObject({ status: 'online', version: online[0]!.payload.version });
  }
  stop();
  socket.close();
});

test('connections on two pods: online until both are gone, then exactly one disconnected per viewer', async () => {
  const id = 'cl-two-pods';
  const viewers = await Promise.all([watchOn('B', b, id), watchOn('C', c, id)]);
  const onA = await streamer(a.url, id);
  const stopA = keepBeating(onA);
  const onB = await streamer(b.url, id);
  const stopB = keepBeating(onB);
  await allGet(viewers, 'connected', 0);

  // Pod A's connection closes; pod B's keeps beating: well past A's grace and several TTLs, nothing.
  stopA();
  onA.close();
  await noneFor(viewers, GRACE_MS + 2 * TTL_MS);
  for (const app of [a, b, c]) expect(await readPresence(app, id)).toMatchObject({ status: 'online' });

  stopB();
  const closedAt = Date.now();
  onB.close();
  const offline = await allGet(viewers, 'disconnected', 1, GRACE_MS + 5_000);
  for (const event of offline) {
    expect(event.at).toBeGreaterThanOrEqual(closedAt + GRACE_MS);
    expect(event.at).toBeLessThanOrEqual(closedAt + GRACE_MS + OFFLINE_WITHIN_MS);
    expect(event.payload.status).toBe('offline');
  }
  await noneFor(viewers, TTL_MS);
  for (const viewer of viewers) expect(reasons(viewer)).toEqual(['connected', 'disconnected']);
});

test('a reconnect to another pod inside the grace produces no event on any pod', async () => {
  const id = 'cl-move';
  const viewers = await Promise.all([watchOn('A', a, id), watchOn('B', b, id), watchOn('C', c, id)]);
  const first = await streamer(a.url, id);
  await allGet(viewers, 'connected', 0);

  first.close();
  // A moment, not a share of the grace: the new handshake must fit in what is left of it on a busy machine.
  await sleep(50);
  const second = await streamer(c.url, id);
  const stop = keepBeating(second);
  await noneFor(viewers, GRACE_MS + 2 * TTL_MS);
  stop();
  for (const viewer of viewers) expect(reasons(viewer)).toEqual(['connected']);
  second.close();
});

test('a silent streamer times out once, cluster-wide, although every pod sweeps', async () => {
  const id = 'cl-silent';
  const viewers = await Promise.all([watchOn('A', a, id), watchOn('B', b, id), watchOn('C', c, id)]);
  const connectStart = Date.now();
  const socket = await streamer(a.url, id);
  const connectedAt = Date.now();
  await allGet(viewers, 'connected', 0);

  const offline = await allGet(viewers, 'timeout', 1, TTL_MS + 5_000);
  for (const event of offline) {
    expect(event.at).toBeGreaterThanOrEqual(connectStart + TTL_MS);
    expect(event.at).toBeLessThanOrEqual(connectedAt + TTL_MS + OFFLINE_WITHIN_MS);
  }
  await noneFor(viewers, GRACE_MS + TTL_MS);
  for (const viewer of viewers) expect(reasons(viewer)).toEqual(['connected', 'timeout']);
  socket.close();
});

test('versions strictly increase, identically on every pod, whichever pod makes the change', async () => {
  const id = 'cl-versions';
  const viewers = await Promise.all([watchOn('A', a, id), watchOn('B', b, id), watchOn('C', c, id)]);
  let seen = 0;
  const step = async (reason: PresenceEvent['reason'], act: () => Promise<unknown>): Promise<void> => {
    await act();
    await allGet(viewers, reason, seen);
    seen++;
  };

  let onA!: Socket;
  let onB!: Socket;
  let onC!: Socket;
  await step('connected', async () => (onA = await streamer(a.url, id)));
  onB = await streamer(b.url, id);
  onC = await streamer(c.url, id);
  await step('meta', () => heartbeat(onB, { meta: { title: 'from B' } }));
  await step('ended', async () => expect(await onC.timeout(3_000).emitWithAck('end')).toEqual({ ok: true }));
  await step('connected', () => heartbeat(onA));
  await step('meta', () => heartbeat(onB, { meta: { title: 'from B again' } }));
  await step('disconnected', async () => {
    for (const socket of [onA, onB, onC]) socket.close();
  });
  await noneFor(viewers, GRACE_MS);

  const expected = ['connected', 'meta', 'ended', 'connected', 'meta', 'disconnected'];
  const versions = versionsOf(viewers[0]!.events.all());
  for (const viewer of viewers) {
    expect(reasons(viewer)).toEqual(expected);
    expect(versionsOf(viewer.events.all())).toEqual(versions);
  }
  expect(strictlyIncreasing(versions)).toBe(true);
  expect(versions[0]).toBeGreaterThan(0);
  expect(versions.every(Number.isSafeInteger)).toBe(true);
  for (const app of [a, b, c]) {
    expect(await readPresence(app, id)).toMatchObject({ status: 'offline', version: versions.at(-1) });
  }
}, 30_000);
