// A pod killed with SIGKILL closes nothing: its streamers' connections must expire by the TTL, seen from the
// surviving pods, exactly once, never early; and a streamer that moves to another pod in time shows nothing.
import type { Socket } from 'socket.io-client';
import type { PresenceState } from '../../src/presence/domain/presence-state.js';
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
  type Watcher,
} from '../helpers/presence-clients.js';
import { allGet, noneFor, type PodViewer } from '../helpers/pod-viewers.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';

/** The contract: offline within 1 s after the deadline (last heartbeat + TTL). */
const OFFLINE_WITHIN_MS = 1_000;

useCleanup();
let redis: RedisServer;
const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `pod-crash-${process.pid}:` };
// The survivors; each test starts the pod it kills.
let b: AppProcess;
let c: AppProcess;
beforeAll(async () => {
  redis = await startRedis();
  [b, c] = await Promise.all([startPod(), startPod()]);
}, 60_000);

async function startPod(): Promise<AppProcess> {
  const app = await startApp({ env, redisUrl: redis.url });
  await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  return app;
}

async function readPresence(app: AppProcess, id: string): Promise<PresenceState> {
  const res = await fetch(`${app.url}/v1/streamers/${id}/presence`);
  expect(res.status).toBe(200);
  return (await res.json()) as PresenceState;
}


async function watchOn(pod: string, app: AppProcess, id: string): Promise<PodViewer> {
  return { ...(await watch(app.url, [id])), pod };
}

const reasons = (viewer: Watcher): string[] => viewer.events.payloads().map((e) => e.reason);



/** Sends one acknowledged heartbeat; returns when it was sent and when its ack came back. */
async function timedHeartbeat(socket: Socket): Promise<{ sentAt: number; ackedAt: number }> {
  const sentAt = Date.now();
  const ack = await socket.timeout(3_000).emitWithAck('heartbeat');
  const ackedAt = Date.now();
  expect(ack).toMatchObject({ ok: true });
  return { sentAt, ackedAt };
}

test('kill -9 of the streamer pod: one timeout per surviving viewer, inside [last heartbeat + TTL, + 1 s]', async () => {
  const id = 'crash-timeout';
  const victim = await startPod();
  const viewers = await Promise.all([watchOn('B', b, id), watchOn('C', c, id)]);
  const socket = await streamer(victim.url, id);
  // Beating from the connect on: a slow `allGet` on a busy machine must not let the lease run out early.
  const stopBeating = keepBeating(socket);
  await allGet(viewers, 'connected', 0);
  await sleep(2 * HEARTBEAT_MS);

  // The last heartbeat the pod acknowledged, then the pod dies without closing anything.
  stopBeating();
  const last = await timedHeartbeat(socket);
  await victim.kill9();

  const offline = await allGet(viewers, 'timeout', 1, TTL_MS + 5_000);
  for (const event of offline) {
    expect(event.payload).toMatchObject({ streamerId: id, status: 'offline' });
    expect(event.at).toBeGreaterThanOrEqual(last.sentAt + TTL_MS);
    expect(event.at).toBeLessThanOrEqual(last.ackedAt + TTL_MS + OFFLINE_WITHIN_MS);
  }
  // No second offline from another pod's sweeper, and no late "disconnected" either.
  await noneFor(viewers, GRACE_MS + TTL_MS);
  for (const viewer of viewers) {
    expect(reasons(viewer)).toEqual(['connected', 'timeout']);
    expect(strictlyIncreasing(versionsOf(viewer.events.all()))).toBe(true);
  }
  expect(versionsOf(viewers[0]!.events.all())).toEqual(versionsOf(viewers[1]!.events.all()));
  for (const app of [b, c]) {
    expect(await readPresence(app, id)).toMatchObject({ status: 'offline', version: offline[0]!.payload.version });
  }
});

test('kill -9, then the streamer reconnects to another pod inside the TTL: viewers get nothing at all', async () => {
  const id = 'crash-move';
  const victim = await startPod();
  const viewers = await Promise.all([watchOn('B', b, id), watchOn('C', c, id)]);
  const first = await streamer(victim.url, id);
  const stopFirst = keepBeating(first);
  const online = await allGet(viewers, 'connected', 0);
  await sleep(2 * HEARTBEAT_MS);

  // A fresh, acknowledged lease when the pod dies: the kill and the reconnect must fit in one TTL, even
  // on a busy machine.
  stopFirst();
  await timedHeartbeat(first);
  await victim.kill9();
  // What a client does when its pod vanishes: reconnect (here to C) and carry on beating.
  const second = await streamer(c.url, id);
  const stopSecond = keepBeating(second);

  // Past the dead pod's leases (TTL) and any grace: not one event on either surviving pod.
  await noneFor(viewers, TTL_MS + GRACE_MS + 1_500);
  stopSecond();
  for (const viewer of viewers) expect(reasons(viewer)).toEqual(['connected']);
  for (const app of [b, c]) {
    expect(await readPresence(app, id)).toMatchObject({ status: 'online', version: online[0]!.payload.version });
  }
  second.close();
});
