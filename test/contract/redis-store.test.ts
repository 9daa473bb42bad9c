import { Redis } from 'ioredis';
import { useCleanup } from '../helpers/cleanup.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { describeRedisStores } from './redis-stores.js';

// A real redis-server of this file's own, on a free port.
useCleanup();
let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});

describeRedisStores('RedisPresenceStore', 16, async () => {
  const redis = new Redis(server.url, { commandTimeout: 2_000, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  return redis;
});
