import { Redis } from 'ioredis';
import { RedisKeys } from '../../src/presence/infrastructure/redis/redis-keys.js';
import { RedisPresenceStore } from '../../src/presence/infrastructure/redis/redis-presence.store.js';
import { MAX_BATCH } from '../../src/presence/infrastructure/redis/heartbeat-batches.js';
import { RecentAppends } from '../../src/presence/infrastructure/redis/recent-appends.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';

// Heartbeats (and connects) that arrive in one turn of the event loop reach one Redis as one script call,
// every shard's together, at most MAX_BATCH a call: what a heartbeat costs the pod and Redis is mostly
// that call. Counted on a real Redis with INFO commandstats; the store contract suite checks that each
// heartbeat is still decided as if alone. (On a Cluster, calls are per shard: redis-cluster-store.test.ts.)
useCleanup();
let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, { commandTimeout: 500, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
});
afterAll(() => redis.disconnect());

async function scriptCalls(): Promise<number> {
  const stats = await redis.info('commandstats');
  const calls = (name: string): number => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return calls('evalsha') + calls('eval');
}

function storeOn(shards: number): RedisPresenceStore {
  const keys = new RedisKeys(`batches:${Math.random().toString(36).slice(2)}:`, shards);
  return new RedisPresenceStore(redis, keys, { presenceTtlMs: 10_000, reconnectGraceMs: 1_000 }, 'batch-pod', 60_000);
}

it(`200 connects and then 200 heartbeats made in one turn over 4 shards take two script calls each time (${MAX_BATCH} a call)`, async () => {
  const store = storeOn(4);
  await store.connect('warm-up', 'c'); // the script is loaded (a first EVALSHA may come back NOSCRIPT)
  const ids = Array.from({ length: 200 }, (_, i) => `streamer-${i}`);
  const before = await scriptCalls();
  const connects = await Promise.all(ids.map((id) => store.connect(id, 'c')));
  const afterConnects = await scriptCalls();
  const heartbeats = await Promise.all(ids.map((id, i) => store.heartbeat(id, 'c', i % 2 === 0 ? { n: i } : undefined)));
  const afterHeartbeats = await scriptCalls();
  // INFO itself is not a script: 200 heartbeats, 2 calls (the counts include nothing else).
  expect(afterConnects - before).toBe(2);
  expect(afterHeartbeats - afterConnects).toBe(2);
  // Each caller still gets its own answer: its own streamer's events, the store's time.
  connects.forEach((result, i) => expect(result.events.map((e) => [e.streamerId, e.reason])).toEqual([[ids[i], 'connected']]));
  heartbeats.forEach((result, i) => expect(result.events.map((e) => [e.streamerId, e.reason, e.meta])).toEqual(i % 2 === 0 ? [[ids[i], 'meta', { n: i }]] : []));
  expect(new Set(heartbeats.map((result) => result.serverTime)).size).toBeLessThanOrEqual(2);
});

it("one call's heartbeats of several shards each land in their own shard: each streamer is online there, and times out there", async () => {
  const keys = new RedisKeys(`batches:${Math.random().toString(36).slice(2)}:`, 4);
  const appended = new RecentAppends();
  const store = new RedisPresenceStore(redis, keys, { presenceTtlMs: 400, reconnectGraceMs: 1_000 }, 'batch-pod', 60_000, undefined, null, null, appended);
  await store.connect('warm-up', 'c');
  const ids = Array.from({ length: 40 }, (_, i) => `spread-${i}`);
  const before = await scriptCalls();
  await Promise.all(ids.map((id) => store.connect(id, 'c')));
  expect((await scriptCalls()) - before).toBe(1);
  // Listed by the shards' online sets (each shard's page), and read back by id.
  const listed = async (): Promise<string[]> => {
    const found: string[] = [];
    for (let page = await store.listOnline(null, 100); ; page = await store.listOnline(page.lastId, 100)) {
      found.push(...page.items.map((state) => state.streamerId));
      if (page.lastId === null) return found.filter((id) => id.startsWith('spread-')).sort();
    }
  };
  expect(await listed()).toEqual([...ids].sort());
  // Each in its own shard's sets and log (lua/prelude.lua: every key of a streamer under its shard's
  // tag), which a Cluster needs and a change of shard count reads by: shard 0's keys may hold none of
  // shard 3's streamers.
  expect(new Set(ids.map((id) => keys.shardOf(id))).size).toBeGreaterThan(2);
  for (const id of ids) {
    const shard = keys.shardOf(id);
    expect([id, await redis.zscore(keys.deadlines(shard), id), await redis.zscore(keys.online(shard), id)]).toEqual([id, expect.any(String), '0']);
    const logged = await redis.xrange(keys.log(shard), '-', '+');
    expect(logged.some(([, fields]) => fields[1] === id)).toBe(true);
  }
  // The pod's copy of what it appended names each entry's own log (a restore appends it there again).
  const copies = appended.entries().filter((entry) => entry.event.streamerId.startsWith('spread-'));
  expect(copies.map((entry) => entry.event.streamerId).sort()).toEqual([...ids].sort());
  for (const entry of copies) {
    const log = `${keys.logTags()[entry.shard]!}log`;
    expect([entry.event.streamerId, log]).toEqual([entry.event.streamerId, keys.log(keys.shardOf(entry.event.streamerId))]);
    expect(await redis.xrange(log, entry.id, entry.id)).toHaveLength(1);
  }
  const misplaced: string[] = [];
  for (let shard = 0; shard < 4; shard += 1) for (const id of await redis.zrange(keys.online(shard), '0', '-1')) if (keys.shardOf(id) !== shard) misplaced.push(id);
  expect(misplaced).toEqual([]);
  await new Promise((resolve) => setTimeout(resolve, 500));
  // The sweep reads each shard's deadlines: every one of them is due in its own.
  const swept = await store.expireDue(1_000);
  expect(swept.events.filter((e) => e.streamerId.startsWith('spread-')).map((e) => e.streamerId).sort()).toEqual([...ids].sort());
  expect((await store.getMany(ids)).every((state) => state.status === 'offline')).toBe(true);
  // Gone from the online list too: the sweep took each out of its own shard's set.
  expect(await listed()).toEqual([]);
});

it(`a batch is cut at ${MAX_BATCH} heartbeats, so no one call holds Redis long`, async () => {
  const store = storeOn(1);
  await store.connect('warm-up', 'c');
  const before = await scriptCalls();
  await Promise.all(Array.from({ length: 2 * MAX_BATCH + 1 }, (_, i) => store.connect(`crowd-${i}`, 'c')));
  expect((await scriptCalls()) - before).toBe(3);
});

it('a batch Redis does not answer in time rejects every call in it, none hangs; run late, it brought each streamer online once', async () => {
  const store = storeOn(2);
  await store.connect('warm-up', 'c');
  const stall = new Redis(server.url);
  await stall.call('CLIENT', 'PAUSE', '1500', 'ALL');
  const started = Date.now();
  const outcomes = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => store.heartbeat(`stalled-${i}`, 'c')));
  expect(outcomes.every((outcome) => outcome.status === 'rejected')).toBe(true);
  expect(Date.now() - started).toBeLessThan(1_400);
  await new Promise((resolve) => setTimeout(resolve, 1_700 - (Date.now() - started)));
  // Redis ran the stalled batch (and its retry) once the pause ended: the callers were told it failed,
  // but what it did stands, once, and the next heartbeats are served.
  const ids = Array.from({ length: 30 }, (_, i) => `stalled-${i}`);
  const after = await Promise.all(ids.map((id) => store.heartbeat(id, 'c')));
  expect(after.flatMap((result) => result.events)).toEqual([]);
  expect((await store.getMany(ids)).every((state) => state.status === 'online')).toBe(true);
  for (const id of ids) expect((await store.timeline(id, 10)).map((entry) => entry.reason)).toEqual(['connected']);
  stall.disconnect();
});
