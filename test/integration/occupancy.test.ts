// Occupancy on two pods sharing Redis: the viewer sockets subscribed to a streamer, counted
// cluster-wide, read over HTTP from either pod and told to the streamer's own connections at most once
// every 5 s; a pod that dies stops counting within the stated bound.
import type { Socket } from 'socket.io-client';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { connectViewer, EventRecorder } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, beatingStreamer, keepBeating, streamer, watch } from '../helpers/presence-clients.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';

/** docs/PROTOCOL.md: a dead pod's viewers stop counting within 10 s (a 5 s silence, then a beat). */
const DEAD_POD_BOUND_MS = 10_000;
/** CONTRACT: at most one `occupancy` event every 5 s; arrivals may jitter by the delivery time. */
const NOTICE_INTERVAL_MS = 5_000;
const ARRIVAL_JITTER_MS = 250;

useCleanup();
let redis: RedisServer;
const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `occupancy-${process.pid}:` };
let a: AppProcess;
let b: AppProcess;
beforeAll(async () => {
  redis = await startRedis();
  [a, b] = await Promise.all([startPod('occ-a'), startPod('occ-b')]);
}, 60_000);

async function startPod(name: string): Promise<AppProcess> {
  const app = await startApp({ env: { ...env, POD_NAME: name }, redisUrl: redis.url });
  await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  return app;
}

async function occupancy(app: AppProcess, id: string): Promise<number> {
  const res = await fetch(`${app.url}/v1/streamers/${id}/occupancy`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { streamerId: string; viewers: number };
  expect(body.streamerId).toBe(id);
  return body.viewers;
}

/** Waits until both pods answer `viewers` for `id` ("at most a few seconds old": within 5 s). */
async function bothSay(id: string, viewers: number, timeoutMs = 5_000): Promise<void> {
  await waitUntil(async () => (await occupancy(a, id)) === viewers && (await occupancy(b, id)) === viewers, timeoutMs, 100).catch(async (error: Error) => {
    throw new Error(`${error.message}: wanted ${viewers} on both pods, a says ${await occupancy(a, id)}, b ${await occupancy(b, id)}`);
  });
}

test('counts every subscribed viewer socket once, cluster-wide, after subscribes, unsubscribes and closes', async () => {
  const id = 'occ-counts';
  expect(await occupancy(a, id)).toBe(0);
  const onA = await Promise.all([watch(a.url, [id]), watch(a.url, [id, 'occ-other']), watch(a.url, ['occ-other'])]);
  const onB = await Promise.all([watch(b.url, [id, id]), watch(b.url, [id])]);
  // One socket subscribing twice, or to the same id twice in one call, is one viewer.
  await onB[0]!.socket.timeout(5_000).emitWithAck('subscribe', { streamerIds: [id] });
  await bothSay(id, 4);
  await bothSay('occ-other', 2);

  await onA[0]!.socket.timeout(5_000).emitWithAck('unsubscribe', { streamerIds: [id] });
  await bothSay(id, 3);
  onB[1]!.socket.close();
  await bothSay(id, 2);
  // A viewer whose subscribe is refused is not counted.
  const refused = await connectViewer(b.url);
  const ack = await refused.timeout(5_000).emitWithAck('subscribe', { streamerIds: [id, 'not a valid id'] });
  expect(ack.ok).toBe(false);
  await sleep(1_500);
  await bothSay(id, 2);
  for (const viewer of [...onA, ...onB]) viewer.socket.close();
  refused.close();
  await bothSay(id, 0);
  await bothSay('occ-other', 0);
}, 40_000);

test('an invalid id gets 400 and changes nothing', async () => {
  const res = await fetch(`${a.url}/v1/streamers/${encodeURIComponent('no spaces')}/occupancy`);
  expect(res.status).toBe(400);
  expect(((await res.json()) as { error: { code: string } }).error.code).toBe('invalid_id');
});

test("the streamer's connections on both pods are told their count when it changes, at most once every 5 s", async () => {
  const id = 'occ-notices';
  const first = await beatingStreamer(a.url, id);
  const second = await beatingStreamer(b.url, id);
  const told = [new EventRecorder<{ viewers: number }>(first.socket, 'occupancy'), new EventRecorder<{ viewers: number }>(second.socket, 'occupancy')];
  const viewers: Socket[] = [];
  // A viewer every 700 ms for 7 s, alternating pods: the count changes ten times within two intervals.
  for (let i = 0; i < 10; i += 1) {
    viewers.push((await watch((i % 2 === 0 ? a : b).url, [id])).socket);
    await sleep(700);
  }
  for (const recorder of told) {
    await recorder.waitFor(({ viewers: count }) => count === 10, 3 * NOTICE_INTERVAL_MS);
    const arrivals = recorder.all();
    // Ten changes, but told at most once per interval: the first change at once, the rest coalesced.
    expect(arrivals.length).toBeGreaterThanOrEqual(2);
    expect(arrivals.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < arrivals.length; i += 1) expect(arrivals[i]!.at - arrivals[i - 1]!.at).toBeGreaterThanOrEqual(NOTICE_INTERVAL_MS - ARRIVAL_JITTER_MS);
    expect(arrivals.map(({ payload }) => payload.viewers)).toEqual([...arrivals.map(({ payload }) => payload.viewers)].sort((x, y) => x - y));
  }
  // A connection that starts while viewers watch is told the count without a change.
  // Listening from before the connect: the count can come in the same read as the connect itself.
  let lateTold!: EventRecorder<{ viewers: number }>;
  const lateSocket = await streamer(b.url, id, { beforeConnect: (socket) => (lateTold = new EventRecorder(socket, 'occupancy')) });
  const late = { socket: lateSocket, stop: keepBeating(lateSocket) };
  await lateTold.waitFor(({ viewers: count }) => count === 10, 2 * NOTICE_INTERVAL_MS);
  // Nothing changes: nothing more is told.
  const counts = told.map((recorder) => recorder.count);
  await sleep(NOTICE_INTERVAL_MS + 1_500);
  expect(told.map((recorder) => recorder.count)).toEqual(counts);
  for (const viewer of viewers) viewer.close();
  await told[0]!.waitFor(({ viewers: count }) => count === 0, 3 * NOTICE_INTERVAL_MS);
  for (const { socket, stop } of [first, second, late]) {
    stop();
    socket.close();
  }
}, 90_000);

test('a SIGKILLed pod stops counting its viewers within the bound, and the streamer is told', async () => {
  const id = 'occ-crash';
  const c = await startPod('occ-c');
  const live = await beatingStreamer(a.url, id);
  const told = new EventRecorder<{ viewers: number }>(live.socket, 'occupancy');
  const survivors = await Promise.all([watch(a.url, [id]), watch(b.url, [id])]);
  const doomed = await Promise.all([0, 1, 2].map(() => watch(c.url, [id])));
  await bothSay(id, 5);
  await told.waitFor(({ viewers }) => viewers === 5, 2 * NOTICE_INTERVAL_MS);

  const killedAt = Date.now();
  await c.kill9();
  await bothSay(id, 2, DEAD_POD_BOUND_MS + 2_000);
  const countedFor = Date.now() - killedAt;
  expect(countedFor).toBeLessThanOrEqual(DEAD_POD_BOUND_MS);
  const toldAt = (await told.waitFor(({ viewers }) => viewers === 2, DEAD_POD_BOUND_MS + NOTICE_INTERVAL_MS)).at;
  console.log(`occupancy: a SIGKILLed pod's viewers stopped counting ${countedFor} ms after the kill (bound ${DEAD_POD_BOUND_MS} ms); the streamer was told ${toldAt - killedAt} ms after`);
  // The doomed viewers reconnect elsewhere in real life; here they are gone, and stay uncounted.
  await sleep(2_000);
  await bothSay(id, 2);
  live.stop();
  live.socket.close();
  for (const viewer of [...survivors, ...doomed]) viewer.socket.close();
}, 60_000);

test('a pod frozen past the TTL stops counting, and counts again once it runs: it registers anew and writes its counts again', async () => {
  const id = 'occ-frozen';
  // Socket.IO pings far apart: its viewers stay connected through the freeze, as behind a patient load balancer.
  const c = await startApp({ env: { ...env, POD_NAME: 'occ-frozen', LB_IDLE_TIMEOUT_MS: '60000' }, redisUrl: redis.url });
  await waitUntil(async () => (await fetch(`${c.url}/readyz`)).status === 200, 10_000, 50);
  const viewers = [await watch(a.url, [id]), ...(await Promise.all([0, 1, 2].map(() => watch(c.url, [id]))))];
  await bothSay(id, 4);
  process.kill(c.pid, 'SIGSTOP');
  await bothSay(id, 1, DEAD_POD_BOUND_MS + 2_000);
  process.kill(c.pid, 'SIGCONT');
  // Its next beat finds it gone: a new name, and all its counts written again under it.
  await bothSay(id, 4, 5_000);
  expect(c.lines.some((line) => line.includes('registers under a new name'))).toBe(true);
  for (const viewer of viewers) viewer.socket.close();
  await bothSay(id, 0);
  await c.stop();
}, 60_000);

test('Redis stalled for 3 s while viewers come: counts right and the streamer told, once it answers again', async () => {
  const id = 'occ-stall';
  const live = await beatingStreamer(a.url, id);
  const told = new EventRecorder<{ viewers: number }>(live.socket, 'occupancy');
  const first = await watch(b.url, [id]);
  await told.waitFor(({ viewers }) => viewers === 1, 2 * NOTICE_INTERVAL_MS);
  // Longer than a command's 2 s timeout: flushes and claims fail, and what ran in Redis is answered to no one.
  await redis.cli('CLIENT', 'PAUSE', '3000', 'ALL');
  const more = await Promise.all([connectViewer(a.url), connectViewer(b.url)]);
  // Subscribing reads presence from Redis too: refused `unavailable` after the command timeout, and then
  // not counted; the client subscribes again, as the SDK does.
  const acks = await Promise.all(more.map((socket) => socket.timeout(10_000).emitWithAck('subscribe', { streamerIds: [id] })));
  await sleep(1_500);
  for (const [i, ack] of acks.entries()) {
    if (!ack.ok) expect((await more[i]!.timeout(5_000).emitWithAck('subscribe', { streamerIds: [id] })).ok).toBe(true);
  }
  await bothSay(id, 3, 10_000);
  await told.waitFor(({ viewers }) => viewers === 3, 3 * NOTICE_INTERVAL_MS);
  // And it stays so: no count left behind by a write that timed out.
  await sleep(2_500);
  await bothSay(id, 3);
  live.stop();
  live.socket.close();
  for (const socket of [first.socket, ...more]) socket.close();
}, 60_000);

test('Redis restarted empty: every pod writes its counts again within seconds', async () => {
  const id = 'occ-restart';
  const viewers = await Promise.all([watch(a.url, [id]), watch(b.url, [id]), watch(b.url, [id])]);
  await bothSay(id, 3);
  await redis.kill9();
  await sleep(300);
  await redis.restart();
  const restartedAt = Date.now();
  await bothSay(id, 3, 10_000);
  expect(Date.now() - restartedAt).toBeLessThan(10_000);
  for (const viewer of viewers) viewer.socket.close();
  await bothSay(id, 0, 10_000);
}, 60_000);
