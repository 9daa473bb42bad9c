// The pod registry's script against a real redis-server: who is live, a silent pod handed out once to
// clean up after, handed out again when its cleaner does not report it forgotten, and a pod that leaves.
import { Redis } from 'ioredis';
import type { PodStatus } from '../../src/presence/domain/pod-registry.port.js';
import { RedisPodRegistry } from '../../src/presence/infrastructure/redis/redis-pod-registry.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { sleep } from '../helpers/timing.js';

useCleanup();
const TTL_MS = 400;
const CLEANUP_MS = 1_200;
let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { commandTimeout: 2_000, enableOfflineQueue: false, lazyConnect: true });
  await redis.connect();
});
afterAll(() => redis.disconnect());

const status = (pod: string): PodStatus => ({ pod, name: pod.split('/')[0]!, startedAt: 1, streamers: 2, viewers: 3, ready: true, draining: false });
let prefix = 0;
const registry = (): RedisPodRegistry => new RedisPodRegistry(redis, `pods-test-${(prefix += 1)}:`, TTL_MS, CLEANUP_MS);

test('each pod sees the live ones with their status; a first beat says it was absent', async () => {
  const pods = registry();
  expect((await pods.beat(status('a/1'))).wasAbsent).toBe(true);
  const second = await pods.beat(status('b/1'));
  expect(second.live.map(({ pod }) => pod).sort()).toEqual(['a/1', 'b/1']);
  expect(second.live.find(({ pod }) => pod === 'a/1')).toMatchObject({ ...status('a/1'), seenAt: expect.any(Number) });
  expect((await pods.beat(status('a/1'))).wasAbsent).toBe(false);
  expect(second.gone).toEqual([]);
});

test('a pod silent past the TTL is no longer live, and is handed to exactly one beating pod', async () => {
  const pods = registry();
  await pods.beat(status('a/1'));
  await pods.beat(status('dead/1'));
  await sleep(TTL_MS + 100);
  const [first, second] = [await pods.beat(status('a/1')), await pods.beat(status('b/1'))];
  expect(first.gone).toEqual(['dead/1']);
  expect(second.gone).toEqual([]);
  expect(second.live.map(({ pod }) => pod).sort()).toEqual(['a/1', 'b/1']);
});

test('a gone pod not reported forgotten is handed out again after the clean-up time; reported, never again', async () => {
  const pods = registry();
  await pods.beat(status('dead/1'));
  await sleep(TTL_MS + 100);
  expect((await pods.beat(status('a/1'))).gone).toEqual(['dead/1']);
  expect((await pods.beat(status('b/1'))).gone).toEqual([]);
  // a/1 keeps beating but never reports it forgotten (it died while cleaning up, say).
  const handedOut = await beatFor(pods, 'a/1', CLEANUP_MS + 200);
  // Once more (b/1, silent since, is handed out too).
  expect(handedOut.filter((pod) => pod === 'dead/1')).toEqual(['dead/1']);
  await pods.forgotten('dead/1');
  expect((await beatFor(pods, 'a/1', CLEANUP_MS + 200)).filter((pod) => pod === 'dead/1')).toEqual([]);
});

/** Beats as `pod` every 100 ms for `ms`; every gone pod handed to it meanwhile. */
async function beatFor(pods: RedisPodRegistry, pod: string, ms: number): Promise<string[]> {
  const gone: string[] = [];
  for (const until = Date.now() + ms; Date.now() < until; await sleep(100)) gone.push(...(await pods.beat(status(pod))).gone);
  return gone;
}

test('a pod that leaves is gone at once: handed out at the next beat of another, and live no more', async () => {
  const pods = registry();
  await pods.beat(status('leaving/1'));
  await pods.leave('leaving/1');
  const next = await pods.beat(status('a/1'));
  expect(next.gone).toEqual(['leaving/1']);
  expect(next.live.map(({ pod }) => pod)).toEqual(['a/1']);
});
