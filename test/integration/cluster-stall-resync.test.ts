// A stalled primary on a Redis Cluster: the pods still ask their viewers to resync once it answers again.
// On one Redis a stall loses nothing (every connection stays up) and the pods do not (RELIABILITY, finding
// 23). On a Cluster the stalled primary may be failed over meanwhile, and ioredis then moves this pod's
// channels to the new primary without a '-node' event: what was published there before they moved never
// reached the pod (a read-only review found it in ioredis's ShardedSubscriber). So a Cluster takes every
// outage as one in which events may have been missed.
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { EventRecorder } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, watch } from '../helpers/presence-clients.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { sleep, waitUntil } from '../helpers/timing.js';

useCleanup();

test('Cluster: a primary stalled past the probe, then answering again: viewers on every pod are told to resync', async () => {
  // A node timeout far past the stall: no failover, only the stall.
  const cluster = await startRedisCluster({ nodeTimeoutMs: 15_000 });
  const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `cluster-stall-${process.pid}:` };
  const pods: AppProcess[] = await Promise.all(['stall-a', 'stall-b'].map((name) => startApp({ redisUrl: cluster.url, env: { ...env, POD_NAME: name } })));
  const ready = async (app: AppProcess): Promise<boolean> => (await fetch(`${app.url}/readyz`)).status === 200;
  for (const app of pods) await waitUntil(() => ready(app), 15_000, 100);
  const viewers = await Promise.all(pods.map((app) => watch(app.url, ['cluster-stall-1'])));
  const resyncs = viewers.map((viewer) => new EventRecorder<undefined>(viewer.socket, 'resync'));

  const stalled = await cluster.primaryOf(0);
  stalled.freeze();
  try {
    // The probe reads a key of every shard: both pods go unready while the primary does not answer.
    await waitUntil(async () => !(await ready(pods[0]!)) && !(await ready(pods[1]!)), 10_000, 100);
    await sleep(500);
  } finally {
    stalled.thaw();
  }
  for (const app of pods) await waitUntil(() => ready(app), 15_000, 100);
  await Promise.all(resyncs.map((recorder) => recorder.waitFor(() => true, 10_000)));
  expect(resyncs.map((recorder) => recorder.count >= 1)).toEqual([true, true]);
}, 90_000);
