import { Redis } from 'ioredis';
import { RedisKeys } from '../../src/presence/infrastructure/redis/redis-keys.js';
import { RedisPresenceStore } from '../../src/presence/infrastructure/redis/redis-presence.store.js';
import { RedisShardLeases } from '../../src/presence/infrastructure/redis/redis-shard-leases.js';
import { RedisTransitionLog } from '../../src/presence/infrastructure/redis/redis-transition-log.js';
import { ShardLayout } from '../../src/presence/infrastructure/redis/shard-layout.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startRedis } from '../helpers/redis-server.js';

// What a pod's Redis side does when the deployment's shard count changes under it (ShardLayoutSync
// switches the layout): writes go to the new shards at once, the previous shards' logs are still read,
// at the same positions, so an entry written just before the change is still delivered; per-shard
// leases start over.
useCleanup();

const timing = { presenceTtlMs: 10_000, reconnectGraceMs: 1_000 };

it('after a switch from 4 to 8 shards: new writes under {s…/8}, the 4 shards\' log still read at its positions, leases start over', async () => {
  const server = await startRedis();
  const redis = new Redis(server.url);
  const layout = new ShardLayout(4);
  const keys = new RedisKeys('layout-test:', layout);
  const store = new RedisPresenceStore(redis, keys, timing, 'pod', 60_000);
  const log = new RedisTransitionLog(redis, redis, keys, 60_000);
  const ids = Array.from({ length: 12 }, (_, i) => `s${i}`);

  // Written under 4 shards, none read yet.
  for (const id of ids) await store.connect(id, `c-${id}`);
  const leases = new RedisShardLeases(redis, 'layout-test:', keys, 'webhooks', 'pod', 5_000);
  expect(await leases.refresh(() => true)).toEqual([0, 1, 2, 3]);
  expect(log.shardCount).toBe(4);

  expect(layout.switchTo(8, 4)).toBe(true);
  // Positions 0..3 are still the 4-shard logs; 4..11 the 8-shard ones.
  expect(log.shardCount).toBe(12);
  // A pod re-asserts its connections under the new keys; four streamers then end.
  for (const id of ids.slice(0, 4)) await store.connect(id, `c-${id}`);
  for (const id of ids.slice(0, 4)) await store.end(id);
  expect(await redis.exists(...ids.slice(0, 4).map((id) => `layout-test:{s${keys.shardOf(id)}/8}:st:${id}`))).toBe(4);

  const taken = await log.takeNew('viewers', 'pod', Array.from({ length: 12 }, (_, i) => i), 100, 100);
  const online = taken.filter((e) => e.event.status === 'online');
  const ended = taken.filter((e) => e.event.reason === 'ended');
  // Every connect made before the switch (the old layout's logs, positions 0..3), and what came after.
  expect(online.filter((e) => e.shard < 4).map((e) => e.event.streamerId).sort()).toEqual([...ids].sort());
  expect(online.filter((e) => e.shard >= 4).map((e) => e.event.streamerId).sort()).toEqual(ids.slice(0, 4).sort());
  expect(ended.map((e) => e.event.streamerId).sort()).toEqual(ids.slice(0, 4).sort());
  expect(ended.every((e) => e.shard >= 4)).toBe(true);
  // Acknowledged in the streams they came from.
  await log.ack('viewers', taken);
  expect(await log.takeOver('viewers', 'other', 0, 0, 100, '0-0')).toMatchObject({ entries: [] });

  // The leases of the old positions are given back, nothing held for one refresh, then taken anew.
  expect(await leases.refresh(() => true)).toEqual([]);
  expect(await redis.exists(...[0, 1, 2, 3].map((s) => `layout-test:{s${s}/4}:lease:webhooks`))).toBe(0);
  expect(await leases.refresh(() => true)).toHaveLength(12);

  // An entry taken while the previous layout was read, acknowledged after it no longer is (its position
  // now names another stream): the acknowledgement still reaches the stream it came from.
  await store.connect('late', 'c-late');
  const [late] = await log.takeNew('viewers', 'pod', Array.from({ length: 12 }, (_, i) => i), 100, 100);
  expect(late!.shard).toBeGreaterThanOrEqual(4);
  expect(layout.switchTo(8, null)).toBe(true);
  expect(log.shardCount).toBe(8);
  await log.ack('viewers', [late!]);
  const lateStream = `layout-test:{s${keys.shardOf('late')}/8}:log`;
  expect((await redis.xpending(lateStream, 'viewers'))[0]).toBe(0);
  // Presence is the new layout's: the four who ended are offline, the rest are not there (re-asserted by the pods).
  expect((await store.getMany(ids.slice(0, 4))).map((s) => s.status)).toEqual(['offline', 'offline', 'offline', 'offline']);
  redis.disconnect();
});

it('the previous count\'s leases are still swept: who left just before the change goes offline under the new keys, who was re-asserted does not', async () => {
  const server = await startRedis();
  const redis = new Redis(server.url);
  const layout = new ShardLayout(4);
  const keys = new RedisKeys('sweep-test:', layout);
  const store = new RedisPresenceStore(redis, keys, { presenceTtlMs: 400, reconnectGraceMs: 200 }, 'pod', 60_000);
  const log = new RedisTransitionLog(redis, redis, keys, 60_000);
  // Under 4 shards: `left` closed its socket (in its grace when the change comes), `gone` is on a pod
  // that died (its lease runs to the TTL), `stays` is re-asserted under 8 shards by its pod.
  for (const id of ['left', 'gone', 'stays']) await store.connect(id, `c-${id}`);
  await store.disconnect('left', 'c-left');
  layout.switchTo(8, 4);
  await store.heartbeat('stays', 'c-stays');
  const seen: string[] = [];
  const deadline = Date.now() + 3_000;
  // `stays` keeps heartbeating (under the new keys) throughout.
  const sweep = async () => {
    await store.heartbeat('stays', 'c-stays');
    for (const event of (await store.expireDue(100)).events) seen.push(`${event.streamerId}:${event.status}:${event.reason}`);
  };
  while (Date.now() < deadline && seen.length < 2) {
    await sweep();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Past every old deadline (`stays` had one too): anything more would show now.
  for (const end = Date.now() + 600; Date.now() < end; ) {
    await sweep();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(seen.sort()).toEqual(['gone:offline:timeout', 'left:offline:disconnected']);
  // Logged under the new keys (the relays read them), and the old records are gone.
  const newPositions = Array.from({ length: 8 }, (_, i) => 4 + i);
  const logged = (await log.takeNew('viewers', 'pod', newPositions, 100, 100)).map((e) => `${e.event.streamerId}:${e.event.status}`);
  expect(logged).toEqual(expect.arrayContaining(['left:offline', 'gone:offline', 'stays:online']));
  expect(logged.filter((entry) => entry === 'stays:offline')).toEqual([]);
  expect(await redis.exists(...['left', 'gone', 'stays'].map((id) => keys.recordKeys(id, 4)[0]))).toBe(0);
  expect((await store.getMany(['stays']))[0]!.status).toBe('online');
  redis.disconnect();
});

it("a parked connection under the previous count's keys (open, no lease) neither holds the streamer there nor dates its offline", async () => {
  const server = await startRedis();
  const redis = new Redis(server.url);
  const layout = new ShardLayout(4);
  const keys = new RedisKeys('parked-test:', layout);
  const ttl = 400;
  const store = new RedisPresenceStore(redis, keys, { presenceTtlMs: ttl, reconnectGraceMs: 200 }, 'pod', 60_000);
  // Under 4 shards: `quiet` went silent while `beating` went on; `quiet` is parked (until its lapse + TTL).
  await store.connect('two-sockets', 'quiet');
  await store.connect('two-sockets', 'beating');
  for (let end = Date.now() + ttl + 100; Date.now() < end; ) {
    await store.heartbeat('two-sockets', 'beating');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const { serverTime: lastBeat } = await store.heartbeat('two-sockets', 'beating');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await store.heartbeat('two-sockets', 'quiet', undefined, ttl); // its pod keeps its place: past `beating`'s deadline
  expect((await store.connections('two-sockets')).find((c) => c.connectionId === 'quiet')).toMatchObject({ parked: true });
  // Then its pod dies as the count changes: `beating` runs out at its last heartbeat + TTL.
  layout.switchTo(8, 4);
  const seen: Array<{ reason: string; since: number }> = [];
  for (const end = Date.now() + 3 * ttl; Date.now() < end && seen.length === 0; ) {
    seen.push(...(await store.expireDue(100)).events.map(({ reason, since }) => ({ reason, since })));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  expect(seen).toEqual([{ reason: 'timeout', since: lastBeat + ttl }]);
  redis.disconnect();
});
