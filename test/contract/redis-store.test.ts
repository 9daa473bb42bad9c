import { Redis } from 'ioredis';
import { RedisPresenceStore } from '../../src/presence/infrastructure/redis/redis-presence.store.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { describeStoreContract } from './presence-store.contract.js';

// A real redis-server of this file's own, on a free port; each test's stores share one key prefix, as
// the pods of one deployment do, so the cross-store tests run here.
useCleanup();
let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});

describeStoreContract(
  'RedisPresenceStore',
  async (timing, scope) => {
    const redis = new Redis(server.url, { commandTimeout: 2_000, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    return {
      store: new RedisPresenceStore(redis, `presence-test:${scope.id}:`, timing, 'contract-pod'),
      teardown: async () => {
        redis.disconnect();
      },
    };
  },
  { shared: true },
);
