// One pod's wall clock runs 30 s behind (libfaketime). Deadlines are measured on the cluster's one clock
// (Redis TIME), so no offline comes early or late, whichever pod the streamer or the viewer is on.
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import {
  beatingStreamer,
  FAST_TIMING,
  GRACE_MS,
  HEARTBEAT_MS,
  keepBeating,
  streamer,
  TTL_MS,
  watch,
  type Watcher,
} from '../helpers/presence-clients.js';
import { allGet, noneFor, type PodViewer } from '../helpers/pod-viewers.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/timing.js';

/** Offline within 1 s after its deadline (the contract's p99), plus half a second for a loaded CI box. */
const OFFLINE_WITHIN_MS = 1_500;
const SKEW_MS = 30_000;

useCleanup();
let normal: AppProcess;
let skewed: AppProcess;
let skewedStartedAt: number;
beforeAll(async () => {
  const redis = await startRedis();
  const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `clock-skew-${process.pid}:` };
  [normal, skewed] = await Promise.all([
    startApp({ env, redisUrl: redis.url }),
    startApp({ env, redisUrl: redis.url, faketime: `-${SKEW_MS / 1000}s` }),
  ]);
  skewedStartedAt = Date.now();
  for (const app of [normal, skewed]) {
    await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  }
}, 60_000);


/** A viewer on the normal pod and one on the skewed pod, both watching `id`. */
async function viewersOf(id: string): Promise<PodViewer[]> {
  return [
    { ...(await watch(normal.url, [id])), pod: 'normal' },
    { ...(await watch(skewed.url, [id])), pod: 'skewed' },
  ];
}

const reasons = (viewer: Watcher): string[] => viewer.events.payloads().map((e) => e.reason);



/** Arrival times relative to `base`, per pod, for one readable failure message. */
const delays = (events: Array<{ at: number }>, viewers: PodViewer[], base: number) =>
  Object.fromEntries(events.map((e, i) => [viewers[i]!.pod, e.at - base]));

test('premise: the skewed pod really runs 30 s behind (its own log timestamps)', () => {
  // If faketime did not apply, every other test in this file would prove nothing.
  const listening = skewed.lines.find((line) => line.includes('Listening on'))!;
  const logged = Number(/"timestamp":(\d+)/.exec(listening)?.[1]);
  expect(skewedStartedAt - logged).toBeGreaterThan(SKEW_MS - 5_000);
  expect(skewedStartedAt - logged).toBeLessThan(SKEW_MS + 5_000);
});

test('a streamer on the skewed pod closes: disconnected on both pods, not before close + grace, within + 1.5 s', async () => {
  const id = 'skew-close';
  const viewers = await viewersOf(id);
  const socket = await streamer(skewed.url, id);
  const stop = keepBeating(socket);
  await allGet(viewers, 'connected', 0);
  await noneFor(viewers, 2 * HEARTBEAT_MS);

  stop();
  const closedAt = Date.now();
  socket.close();
  const offline = await allGet(viewers, 'disconnected', 1, GRACE_MS + SKEW_MS + 5_000);
  const seen = delays(offline, viewers, closedAt);
  for (const event of offline) {
    expect({ seen, early: event.at < closedAt + GRACE_MS }).toEqual({ seen, early: false });
    expect({ seen, late: event.at > closedAt + GRACE_MS + OFFLINE_WITHIN_MS }).toEqual({ seen, late: false });
  }
  await noneFor(viewers, TTL_MS);
  for (const viewer of viewers) expect(reasons(viewer)).toEqual(['connected', 'disconnected']);
}, 45_000);

test.each([
  ['on the skewed pod, watched from both', 'skew-silent-on-skewed', () => skewed],
  ['on the normal pod, watched from both (also the skewed one)', 'skew-silent-on-normal', () => normal],
])('a silent streamer %s times out not before TTL, within TTL + 1.5 s', async (_where, id, pod) => {
  const viewers = await viewersOf(id);
  const connectStart = Date.now();
  const socket = await streamer(pod().url, id);
  const connectedAt = Date.now();
  await allGet(viewers, 'connected', 0);

  const offline = await allGet(viewers, 'timeout', 1, TTL_MS + SKEW_MS + 5_000);
  const seen = delays(offline, viewers, connectedAt);
  for (const event of offline) {
    expect({ seen, early: event.at < connectStart + TTL_MS }).toEqual({ seen, early: false });
    expect({ seen, late: event.at > connectedAt + TTL_MS + OFFLINE_WITHIN_MS }).toEqual({ seen, late: false });
  }
  await noneFor(viewers, GRACE_MS);
  for (const viewer of viewers) expect(reasons(viewer)).toEqual(['connected', 'timeout']);
  socket.close();
}, 45_000);

test('streamers heartbeating on time on either pod never go offline, whichever pod sweeps', async () => {
  const onSkewed = 'skew-beating-on-skewed';
  const onNormal = 'skew-beating-on-normal';
  const viewers = [
    { ...(await watch(normal.url, [onSkewed, onNormal])), pod: 'normal' },
    { ...(await watch(skewed.url, [onSkewed, onNormal])), pod: 'skewed' },
  ];
  const beating = [await beatingStreamer(skewed.url, onSkewed), await beatingStreamer(normal.url, onNormal)];
  const sockets = beating.map((b) => b.socket);
  const stops = beating.map((b) => b.stop);
  await waitUntil(() => viewers.every((v) => v.events.count === 2), 3_000);

  await noneFor(viewers, 3 * TTL_MS);
  for (const stop of stops) stop();
  for (const viewer of viewers) {
    expect(viewer.events.payloads().map((e) => `${e.streamerId}:${e.reason}`).sort()).toEqual([
      `${onNormal}:connected`,
      `${onSkewed}:connected`,
    ]);
  }
  for (const socket of sockets) socket.close();
});

test('timestamps a viewer sees are on the cluster clock, not on the skewed pod clock', async () => {
  const id = 'skew-since';
  const viewers = await viewersOf(id);
  const connectStart = Date.now();
  let sessionArrived!: Promise<{ serverTime: number }>;
  const socket = await streamer(skewed.url, id, {
    beforeConnect: (s) => (sessionArrived = new Promise((resolve) => s.once('session', resolve))),
  });
  const session = await sessionArrived;
  const online = await allGet(viewers, 'connected', 0);
  // The time a streamer app syncs its clock to is the cluster's, not the pod's.
  expect(Math.abs(session.serverTime - Date.now())).toBeLessThan(1_000);
  const ack = (await socket.timeout(3_000).emitWithAck('heartbeat')) as { serverTime: number };
  expect(Math.abs(ack.serverTime - Date.now())).toBeLessThan(1_000);
  // `since` is when the status began: a pod 30 s behind must not make a stream look 30 s younger.
  for (const event of online) {
    expect(event.payload.since).toBeGreaterThanOrEqual(connectStart - 100);
    expect(event.payload.since).toBeLessThanOrEqual(event.at + 100);
  }
  const closedAt = Date.now();
  socket.close();
  const offline = await allGet(viewers, 'disconnected', 1, GRACE_MS + SKEW_MS + 5_000);
  for (const event of offline) {
    expect(event.payload.since).toBeGreaterThanOrEqual(closedAt + GRACE_MS - 100);
    expect(event.payload.since).toBeLessThanOrEqual(event.at + 100);
  }
}, 45_000);
