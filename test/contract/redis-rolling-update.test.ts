import { Redis } from 'ioredis';
import { RedisKeys } from '../../src/presence/infrastructure/redis/redis-keys.js';
import { RedisPresenceStore } from '../../src/presence/infrastructure/redis/redis-presence.store.js';
import { ShardLayout } from '../../src/presence/infrastructure/redis/shard-layout.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startRedis } from '../helpers/redis-server.js';

// During a rolling update, pods of the version before parked places ('p<until>' in a streamer's lease
// hash) read them as live leases: their sweeper drops the last live lease and sends no offline. The
// record is then online with parked places alone, which this version must not leave so.
useCleanup();

it('a record left online with parked places alone goes offline (timeout, as of now) at the next call that touches it', async () => {
  const server = await startRedis();
  const redis = new Redis(server.url);
  const keys = new RedisKeys('rolling-test:', new ShardLayout(4));
  const ttl = 60_000;
  const store = new RedisPresenceStore(redis, keys, { presenceTtlMs: ttl, reconnectGraceMs: 1_000 }, 'pod', 60_000);
  await store.connect('s', 'live');
  await store.heartbeat('s', 'quiet', undefined, ttl); // parked: an open socket that keeps nobody online
  // What an older pod's sweeper leaves: the live lease gone, the parked place kept, no offline.
  await redis.hdel(keys.leasesKey('s'), 'live');
  expect((await store.getMany(['s']))[0]!.status).toBe('online');

  const kept = await store.heartbeat('s', 'quiet', undefined, ttl);
  expect(kept.events).toMatchObject([{ streamerId: 's', status: 'offline', reason: 'timeout', since: kept.serverTime }]);
  expect((await store.getMany(['s']))[0]!.status).toBe('offline');
  expect(await store.connections('s')).toMatchObject([{ connectionId: 'quiet', parked: true }]);
  redis.disconnect();
});
