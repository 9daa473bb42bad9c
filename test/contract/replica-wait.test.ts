import { Redis } from 'ioredis';
import { ReplicaWait } from '../../src/redis/replica-wait.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/timing.js';

// The wait for a replica after a transition (src/redis/replica-wait.ts), on real servers: it waits when
// there is a replica, does not block the shared connection when there is none (a promoted primary), and
// sends one WAIT at a time however many transitions ask.
useCleanup();

const waitCalls = async (redis: Redis) => Number(/cmdstat_wait:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);

it('a primary without a replica is not waited on: no WAIT, whatever its timeout', async () => {
  const primary = await startRedis();
  const redis = new Redis(primary.url);
  const replicaWait = new ReplicaWait(redis, 3_000);
  await redis.set('k', '1');
  const started = Date.now();
  await replicaWait.after('k');
  expect(Date.now() - started).toBeLessThan(1_000);
  expect(await waitCalls(redis)).toBe(0);
  redis.disconnect();
});

it('with a replica: waits until the replica has the write, and one WAIT serves the transitions that asked meanwhile', async () => {
  const primary = await startRedis();
  const replica = await startRedis({ extraArgs: ['--replicaof', '127.0.0.1', String(primary.port), '--enable-debug-command', 'yes'] });
  const redis = new Redis(primary.url);
  await waitUntil(async () => (await redis.info('replication')).includes('connected_slaves:1'), 10_000, 50);
  await waitUntil(async () => (await replica.cli('INFO', 'replication')).includes('master_link_status:up'), 10_000, 50);
  const replicaWait = new ReplicaWait(redis, 3_000);
  await redis.set('warm', '1');
  await replicaWait.after('warm');

  // The replica stalls for 400 ms: the answer waits for it.
  const stall = replica.cli('DEBUG', 'SLEEP', '0.4');
  await new Promise((resolve) => setTimeout(resolve, 50));
  await redis.set('k', '1');
  const started = Date.now();
  await replicaWait.after('k');
  expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  await stall;

  // Twenty transitions at once: at most two WAITs (the one in flight, and one for all who came after it).
  const before = await waitCalls(redis);
  await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    await redis.set(`many-${i}`, '1');
    await replicaWait.after(`many-${i}`);
  }));
  expect((await waitCalls(redis)) - before).toBeLessThanOrEqual(2);
  redis.disconnect();
});
