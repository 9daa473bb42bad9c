import { Cluster } from 'ioredis';
import { useCleanup } from '../helpers/cleanup.js';
import { type RedisClusterSet, startRedisCluster } from '../helpers/redis-cluster.js';
import { describeRedisStores } from './redis-stores.js';

// A real local Redis Cluster of this file's own (3 primaries, 3 replicas), and 12 shards: 4 per primary,
// the rule docs/OPERATIONS.md gives. Every script must declare its keys here, or the Cluster refuses it.
useCleanup();
let cluster: RedisClusterSet;
beforeAll(async () => {
  cluster = await startRedisCluster();
}, 60_000);

describeRedisStores('RedisPresenceStore on a Redis Cluster', 12, async () => {
  const redis = new Cluster(
    cluster.servers.map((server) => ({ host: '127.0.0.1', port: server.port })),
    { redisOptions: { commandTimeout: 2_000, maxRetriesPerRequest: 1 }, enableOfflineQueue: false, enableAutoPipelining: true, lazyConnect: true },
  );
  await redis.connect();
  return redis;
});
