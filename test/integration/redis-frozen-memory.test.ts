// While Redis does not answer, a pod's memory stays bounded however many requests its clients send.
// Each waits at most the command timeout and is refused `unavailable`; what it waited on must not keep
// anything of it once it has been answered.
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
const FROZEN_MS = 15_000;
const MB = 1024 * 1024;

let redis: RedisServer;
let app: AppProcess;
let inspectPort: number;
beforeAll(async () => {
  redis = await startRedis();
  inspectPort = await freePort();
  app = await startApp({
    env: { ...FAST_TIMING, REDIS_KEY_PREFIX: `frozen-memory-${process.pid}:`, NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}` },
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

test(`Redis frozen ${FROZEN_MS / 1000} s while ${VIEWERS} viewers subscribe: every subscribe answered, the heap does not grow with them`, async () => {
  const viewers = await Promise.all(Array.from({ length: VIEWERS }, () => connectViewer(app.url)));
  // Warm: each path taken once before the baseline.
  await Promise.all(viewers.map((viewer, v) => viewer.timeout(5_000).emitWithAck('subscribe', { streamerIds: [`warm-${v}`] })));
  const before = await heapUsedAfterGc(inspectPort);

  redis.freeze();
  const frozenUntil = Date.now() + FROZEN_MS;
  const answers = (await Promise.all(viewers.map((viewer, v) => subscribeUntil(viewer, `frozen-${v}`, frozenUntil)))).flat();
  // Still frozen: whatever the answered requests left behind is still there to be counted.
  const during = await heapUsedAfterGc(inspectPort);
  redis.thaw();
  await sleep(2_000);
  const after = await heapUsedAfterGc(inspectPort);

  const growth = { duringMb: Math.round((during - before) / MB), afterMb: Math.round((after - before) / MB) };
  const slowest = Math.max(...answers.map((answer) => answer.ms));
  console.log(`${answers.length} subscribes while frozen, the slowest answered in ${slowest} ms; heap after GC before ${Math.round(before / MB)} MB, frozen +${growth.duringMb} MB, thawed +${growth.afterMb} MB`);
  expect(answers.length).toBeGreaterThan(VIEWERS * 3);
  expect(new Set(answers.map((answer) => answer.code))).toEqual(new Set(['unavailable']));
  // Measured: +7 MB after 800 subscribes (what the Redis client holds of the commands it sent the frozen
  // server, until it answers); with what each waiter left on every subscription in flight, +26 MB after 601.
  expect(growth.duringMb).toBeLessThan(15);
  for (const viewer of viewers) viewer.disconnect();
}, 90_000);
