import { RedisPresenceStore } from '../../src/presence/infrastructure/redis/redis-presence.store.js';
import { RedisKeys } from '../../src/presence/infrastructure/redis/redis-keys.js';
import { RedisTransitionLog } from '../../src/presence/infrastructure/redis/redis-transition-log.js';
import type { RedisClient } from '../../src/redis/redis-client.js';
import { RedisOccupancyStore } from '../../src/presence/infrastructure/redis/redis-occupancy.store.js';
import { describeOccupancyContract } from './occupancy-store.contract.js';
import { describeStoreContract } from './presence-store.contract.js';
import { describeRandomHistories, HISTORY_LOG_RETENTION_MS } from './random-history.contract.js';

const RETENTION_MS = 86_400_000;

/**
 * The store contract suite and the random histories against Redis, on whatever topology `connect`
 * reaches (one server, a Cluster). Each test's stores share one key prefix, as the pods of one deployment
 * do, so the cross-store tests run too.
 */
export function describeRedisStores(name: string, shardCount: number, connect: () => Promise<RedisClient>): void {
  describeStoreContract(
    name,
    async (timing, scope) => {
      const redis = await connect();
      const keys = new RedisKeys(`presence-test:${scope.id}:`, shardCount);
      return {
        store: new RedisPresenceStore(redis, keys, timing, 'contract-pod', RETENTION_MS),
        // No blocking reads here: the suite reads the log with XRANGE only.
        log: new RedisTransitionLog(redis, redis, keys, RETENTION_MS),
        teardown: async () => {
          redis.disconnect();
        },
      };
    },
    { shared: true },
  );

  describeRandomHistories(name, async (timing, clock) => {
    const redis = await connect();
    const keys = new RedisKeys(`presence-history:${process.pid}-${Math.random().toString(36).slice(2)}:`, shardCount);
    return {
      store: new RedisPresenceStore(redis, keys, timing, 'history-pod', HISTORY_LOG_RETENTION_MS, () => {}, clock),
      log: new RedisTransitionLog(redis, redis, keys, HISTORY_LOG_RETENTION_MS),
      teardown: async () => {
        redis.disconnect();
      },
    };
  });

  describeOccupancyContract(name.replace('RedisPresenceStore', 'RedisOccupancyStore'), async () => {
    const redis = await connect();
    const keys = new RedisKeys(`occupancy-test:${process.pid}-${Math.random().toString(36).slice(2)}:`, shardCount);
    return { store: new RedisOccupancyStore(redis, keys), teardown: async () => redis.disconnect() };
  });
}
