import { Redis } from 'ioredis';
import { RedisPresenceStore } from '../../src/presence/infrastructure/redis/redis-presence.store.js';
import { RedisTransitionLog } from '../../src/presence/infrastructure/redis/redis-transition-log.js';
import { useCleanup } from '../helpers/cleanup.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { describeStoreContract } from './presence-store.contract.js';
import { describeRandomHistories, HISTORY_LOG_RETENTION_MS } from './random-history.contract.js';

// A real redis-server of this file's own, on a free port; each test's stores share one key prefix, as
// the pods of one deployment do, so the cross-store tests run here.
useCleanup();
const RETENTION_MS = 86_400_000;
let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});

describeStoreContract(
  'RedisPresenceStore',
  async (timing, scope) => {
    const redis = new Redis(server.url, { commandTimeout: 2_000, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
    await redis.connect();
    const prefix = `presence-test:${scope.id}:`;
    return {
      store: new RedisPresenceStore(redis, prefix, timing, 'contract-pod', RETENTION_MS),
      // No blocking reads here: the suite reads the log with XRANGE only.
      log: new RedisTransitionLog(redis, redis, prefix, RETENTION_MS),
      teardown: async () => {
        redis.disconnect();
      },
    };
  },
  { shared: true },
);

describeRandomHistories('RedisPresenceStore', async (timing, clock) => {
  const redis = new Redis(server.url, { commandTimeout: 2_000, enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
  await redis.connect();
  const prefix = `presence-history:${process.pid}-${Math.random().toString(36).slice(2)}:`;
  return {
    store: new RedisPresenceStore(redis, prefix, timing, 'history-pod', HISTORY_LOG_RETENTION_MS, () => {}, clock),
    log: new RedisTransitionLog(redis, redis, prefix, HISTORY_LOG_RETENTION_MS),
    teardown: async () => {
      redis.disconnect();
    },
  };
});
