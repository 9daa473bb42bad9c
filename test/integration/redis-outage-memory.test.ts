// While Redis does not answer, a pod's memory stays bounded however many requests its clients send.
// Each waits at most the command timeout and is refused `unavailable`; what it waited on must not keep
// anything of it once it has been answered. RELIABILITY finding 19: at full scale, after a Redis restart
// that was slow to come back, two pods' heaps grew by hundreds of MB in under a minute and the pods died.
import type { Socket } from 'socket.io-client';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { connectViewer } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import { freePort } from '../helpers/free-port.js';
import { heapUsedAfterGc } from '../helpers/heap-snapshot.js';
import { FAST_TIMING } from '../helpers/presence-clients.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';

useCleanup();

const VIEWERS = 200;
/** Frozen, a subscribe takes 4-5 s to be refused: long enough for three or four each. */
const FROZEN_MS = 15_000;
/** Down, about one a second each. */
const DOWN_MS = 8_000;
const MB = 1024 * 1024;

let redis: RedisServer;
let app: AppProcess;
let inspectPort: number;
beforeAll(async () => {
  redis = await startRedis();
  inspectPort = await freePort();
  app = await startApp({
    env: { ...FAST_TIMING, REDIS_KEY_PREFIX: `outage-memory-${process.pid}:`, NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` },
    redisUrl: redis.url,
  });
  await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
}, 60_000);

/** Subscribes to a new streamer after each answer until `until`; returns each answer's code and how long it took. */
async function subscribeUntil(viewer: Socket, name: string, until: number): Promise<Array<{ code: string; ms: number }>> {
  const answers: Array<{ code: string; ms: number }> = [];
  for (let n = 0; Date.now() < until; n++) {
    const sentAt = Date.now();
    const ack = (await viewer
      .timeout(15_000)
      .emitWithAck('subscribe', { streamerIds: [`${name}-${n}`] })
      .catch(() => ({ ok: false, error: { code: 'no answer within 15 s' } }))) as { ok: boolean; error?: { code: string } };
    answers.push({ code: ack.ok ? 'ok' : ack.error!.code, ms: Date.now() - sentAt });
  }
  return answers;
}

/** Heap growth (after GC) while `VIEWERS` viewers subscribe through an outage of `outage.ms`, and after it. */
async function subscribeThrough(outage: { name: string; ms: number; begin: () => Promise<void>; end: () => Promise<void> }): Promise<{ answers: Array<{ code: string; ms: number }>; kbPerSubscribe: number }> {
  const viewers = await Promise.all(Array.from({ length: VIEWERS }, () => connectViewer(app.url)));
  // Warm: each path taken once before the baseline.
  await Promise.all(viewers.map((viewer, v) => viewer.timeout(5_000).emitWithAck('subscribe', { streamerIds: [`${outage.name}-warm-${v}`] })));
  const before = await heapUsedAfterGc(inspectPort);

  await outage.begin();
  const until = Date.now() + outage.ms;
  const answers = (await Promise.all(viewers.map((viewer, v) => subscribeUntil(viewer, `${outage.name}-${v}`, until)))).flat();
  // Still in the outage: whatever the answered requests left behind is still there to be counted.
  const during = await heapUsedAfterGc(inspectPort);
  await outage.end();
  await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  await sleep(1_000);
  const after = await heapUsedAfterGc(inspectPort);
  for (const viewer of viewers) viewer.disconnect();

  const [duringMb, afterMb] = [during, after].map((bytes) => Math.round((bytes - before) / MB)) as [number, number];
  const kbPerSubscribe = (during - before) / 1024 / answers.length;
  const slowest = Math.max(...answers.map((answer) => answer.ms));
  console.log(`Redis ${outage.name}: ${answers.length} subscribes, the slowest answered in ${slowest} ms; heap after GC before ${Math.round(before / MB)} MB, during +${duringMb} MB (${kbPerSubscribe.toFixed(1)} KB a subscribe), after +${afterMb} MB`);
  return { answers, kbPerSubscribe };
}

test(`Redis frozen ${FROZEN_MS / 1000} s while ${VIEWERS} viewers subscribe: every subscribe answered, the heap does not grow with them`, async () => {
  const { answers, kbPerSubscribe } = await subscribeThrough({
    name: 'frozen',
    ms: FROZEN_MS,
    begin: async () => redis.freeze(),
    end: async () => redis.thaw(),
  });
  expect(answers.length).toBeGreaterThan(VIEWERS * 2);
  expect(new Set(answers.map((answer) => answer.code))).toEqual(new Set(['unavailable']));
  // Measured: +5-7 MB after 600-800 subscribes, 8-10 KB each (what the Redis client holds of the commands
  // it sent the frozen server, until it answers). With what each waiter left on every subscription in
  // flight, +26 MB after 601 and +42 MB after 799, 44-54 KB each and growing with their number (about
  // 30 KB each at 400, the fewest this test allows). Per subscribe, so a slow machine sending fewer
  // still tells the two apart.
  expect(kbPerSubscribe).toBeLessThan(20);
}, 90_000);

test(`Redis down ${DOWN_MS / 1000} s while ${VIEWERS} viewers subscribe: every subscribe answered, the heap does not grow with them`, async () => {
  const { answers, kbPerSubscribe } = await subscribeThrough({ name: 'down', ms: DOWN_MS, begin: () => redis.kill9(), end: () => redis.restart() });
  expect(answers.length).toBeGreaterThan(VIEWERS * 2);
  expect(new Set(answers.map((answer) => answer.code))).toEqual(new Set(['unavailable']));
  // Measured over 15 s: +5 MB after 2,900 subscribes, 2 KB each (the subscriptions queued for when Redis
  // is back); with what each waiter left on every subscription queued, +505 MB after 2,868, 180 KB each
  // and growing with their number, as the full-scale soak's pods (finding 19).
  expect(kbPerSubscribe).toBeLessThan(20);
}, 90_000);
