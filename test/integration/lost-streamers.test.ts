// LostStreamers (src/redis/lost-streamers.ts) on a real redis-server, with the real store and log: after
// Redis lost its data, the streamers a log keeper knows online and nothing claimed are settled offline.
import { Redis } from 'ioredis';
import { RedisKeys } from '../../src/presence/infrastructure/redis/redis-keys.js';
import { RedisPresenceStore } from '../../src/presence/infrastructure/redis/redis-presence.store.js';
import { RedisTransitionLog } from '../../src/presence/infrastructure/redis/redis-transition-log.js';
import { LostStreamers } from '../../src/redis/lost-streamers.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';

useCleanup();

const SHARDS = 4;
const RETENTION_MS = 3_600_000;
const SETTLE_AFTER_MS = 1_500;

test('a streamer known only from an entry another pod appended again after the loss is settled too', async () => {
  const server = await startRedis();
  const redis = new Redis(server.url, { commandTimeout: 2_000, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50, lazyConnect: true });
  await redis.connect();
  const prefix = `lost-${process.pid}:`;
  const keys = new RedisKeys(prefix, SHARDS);
  const log = new RedisTransitionLog(redis, redis, keys, RETENTION_MS);
  const store = new RedisPresenceStore(redis, keys, { presenceTtlMs: 1_000, reconnectGraceMs: 500 }, 'keeper-pod', RETENTION_MS);
  const lost = new LostStreamers(
    redis,
    `${prefix}epoch`,
    log,
    (id, since) => store.settleLost(id, since),
    SETTLE_AFTER_MS,
    (after, limit) => store.listOnline(after, limit),
    () => true,
  );
  lost.start();
  try {
    await waitUntil(async () => (await redis.get(`${prefix}epoch`).catch(() => null)) !== null, 5_000, 50);
    // Following the log from here on.
    await sleep(1_000);

    await server.kill9();
    await server.restart();
    await waitUntil(async () => (await redis.ping().catch(() => '')) === 'PONG', 10_000, 50);
    expect(await lost.afterOutage()).toBe(true);
    // After this pod's recovery, another pod appends again what it had appended just before the loss
    // (RecentAppends): a streamer this pod never read online. Its connection closed in that moment, so
    // nothing will claim it; before, only those known at the loss were settled, and it stayed online.
    const at = Date.now() - 300;
    await log.restore([
      { shard: keys.shardOf('restored-late'), id: `${at}-0`, event: { streamerId: 'restored-late', status: 'online', since: at, version: at * 1_000, reason: 'connected' }, at, pod: 'other-pod' },
    ]);

    const logged = async (): Promise<string[]> =>
      (await log.readAfter(Array(SHARDS).fill(null), 100)).shards
        .flat()
        .filter((e) => e.event.streamerId === 'restored-late')
        .map((e) => `${e.event.status} ${e.event.reason}`);
    await waitUntil(async () => (await logged()).length > 1, SETTLE_AFTER_MS + 5_000, 100).catch(() => undefined);
    expect(await logged()).toEqual(['online connected', 'offline timeout']);
    expect((await store.getMany(['restored-late']))[0]).toMatchObject({ status: 'offline', version: expect.any(Number) });
  } finally {
    await lost.stop();
    redis.disconnect();
  }
}, 30_000);
