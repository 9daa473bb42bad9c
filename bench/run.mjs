// `npm run bench` (after `npm run build`): the whole benchmark, bounded in time, loopback only.
// 1. one pod and the bare heartbeat server on one Redis: idle memory, then the closed heartbeat loop
//    (and, when the heartbeat target is missed, a CPU profile of both), then redis-benchmark's ceiling;
// 2. N bare broadcast servers, then N pods with scaled timing, on a fresh Redis: the same viewers and
//    streamers for both → delivery latencies and adapter traffic.
// Progress goes to stderr; results to bench/results/ and BENCHMARKS.md (see report.mjs).
import { fileURLToPath } from 'node:url';
import { DEFAULT_TIMING, parseConfig, SCALED_TIMING } from './config.mjs';
import { describeMachine, machineLine } from './machine.mjs';
import { idleMemory } from './phases/memory.mjs';
import { heapDiff } from './phases/heap-diff.mjs';
import { alternatingThroughput, heartbeatThroughput, interleavedRounds } from './phases/throughput.mjs';
import { profileHeartbeats, profilePath } from './phases/profile.mjs';
import { redisCeiling } from './phases/ceiling.mjs';
import { deliveryPlan } from './phases/plan.mjs';
import { broadcastBaseline } from './phases/broadcast-baseline.mjs';
import { serviceDeliveries } from './phases/service-deliveries.mjs';
import { hotBaseline, hotService } from './phases/hot-streamer.mjs';
import { reconnectStorm, stormBaseline } from './phases/reconnect-storm.mjs';
import { installSignalHandlers, killAll, logDir, removeLogs, startBaseline, startPod, startRedis, startRedisCluster, startWorker, stopServer, usePodNodeArgs } from './processes.mjs';
import { log } from './progress.mjs';
import { withTimeout } from './load/clock.mjs';
import { writeReports } from './report.mjs';
import { pinningNote } from './pinning.mjs';

let config;
try {
  config = parseConfig();
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(error.message.startsWith('usage:') ? 0 : 2);
}
usePodNodeArgs(config.podNodeArgs);

const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));
const BENCHMARKS_FILE = fileURLToPath(new URL('../BENCHMARKS.md', import.meta.url));
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const started = performance.now();
const { jwtSecret, ...publicConfig } = config;
const results = {
  startedAt: new Date().toISOString(),
  command: config.command,
  config: { ...publicConfig, phases: [...config.phases] },
  machine: describeMachine(),
  pinning: pinningNote(),
  errors: [],
};

installSignalHandlers((signal) => log(`${signal}: killing every process this run started (logs in ${logDir})`));
// The last line of defence: whatever hangs, the run ends.
const hardStop = setTimeout(() => {
  log(`the run exceeded --timeout-seconds ${config.timeoutSeconds}: killing everything`);
  results.errors.push(`overall timeout after ${config.timeoutSeconds} s`);
  finish(3);
}, config.timeoutSeconds * 1000);

const has = (phase) => config.phases.has(phase);
const hbMs = (config.hbWarmupSeconds + config.hbSeconds) * 1000;

async function phase(name, timeoutMs, run) {
  log(`phase: ${name} (timeout ${Math.round(timeoutMs / 1000)} s)`);
  try {
    return await withTimeout(run(), timeoutMs, name);
  } catch (error) {
    log(`phase ${name} failed: ${error.message}`);
    results.errors.push(`${name}: ${error.message.split('\n')[0]}`);
    return null;
  }
}

/**
 * The closed heartbeat loop in both modes, each against its own bare server: Redis mode (`pod`, `bare`
 * on `redis`) and embedded mode (a pod without REDIS_URL, and the bare server with a Map for leases),
 * interleaved round by round. CPU profiles follow when a mode misses the target (or always).
 */
async function throughputPhases({ redis, bare, pod, workers, watchFor }) {
  const servers = await Promise.all([
    startBaseline('bare-memory', { mode: 'heartbeat', timing: DEFAULT_TIMING }),
    startPod('pod-embedded', { jwtSecret, timing: DEFAULT_TIMING, entry: config.appEntry }),
  ]);
  const modes = {
    embedded: { bare: servers[0], service: servers[1], redis: null, serverSide: [] },
    redis: { bare, service: pod, redis: redis.redis, serverSide: [redis.pid] },
  };
  try {
    const base = { workers, clients: config.hbClients, warmupMs: config.hbWarmupSeconds * 1000, durationMs: config.hbSeconds * 1000, secret: jwtSecret };
    const rounds = 2 * config.hbRounds;
    results.throughput = await phase('heartbeat throughput, both modes', rounds * (2 * hbMs + 120_000) + 180_000, async () => {
      const runs = { embedded: { bare: [], service: [] }, redis: { bare: [], service: [] } };
      for (let round = 1; round <= config.hbRounds; round++) {
        log(`  round ${round}/${config.hbRounds}`);
        for (const [mode, { bare: baseline, service, redis: modeRedis, serverSide }] of Object.entries(modes)) {
          const args = { ...base, redis: modeRedis, serverSide };
          const watch = (server) => (modeRedis === null ? watchFor(server).filter((w) => w.name !== 'redis') : watchFor(server));
          const [bareRun, serviceRun] = await alternatingThroughput({
            ...args,
            slices: Math.max(1, Math.round(base.durationMs / Math.max(100, config.hbSliceMs))),
            sliceMs: Math.max(100, config.hbSliceMs),
            targets: [{ server: baseline, end: false, watch: watch(baseline) }, { server: service, end: true, watch: watch(service) }],
          });
          runs[mode].bare.push(bareRun);
          runs[mode].service.push(serviceRun);
        }
      }
      return { ...interleavedRounds(runs.redis), embedded: interleavedRounds(runs.embedded) };
    });
    const t = results.throughput;
    const missed = (result) => config.profile === 'always' || (config.profile === 'auto' && t !== null && result.ratio < 1);
    const profileArgs = { workers, clients: config.hbClients, durationMs: config.profileSeconds * 1000, secret: jwtSecret };
    for (const [mode, key, result] of [['redis', 'profile', t], ['embedded', 'profileEmbedded', t?.embedded]]) {
      if (!missed(result ?? {})) continue;
      const { bare: baseline, service } = modes[mode];
      results[key] = await phase(`CPU profiles under the heartbeat loop, ${mode} mode`, 2 * config.profileSeconds * 1000 + 300_000, async () => ({
        service: await profileHeartbeats({ ...profileArgs, server: service, end: true, outFile: profilePath(RESULTS_DIR, stamp, service.name) }),
        bare: await profileHeartbeats({ ...profileArgs, server: baseline, end: false, outFile: profilePath(RESULTS_DIR, stamp, baseline.name) }),
      }));
    }
  } finally {
    await Promise.all(servers.map(stopServer));
  }
}

async function singlePodPhases() {
  const redis = await startRedis('redis-hb');
  const bare = await startBaseline('bare-heartbeat', { mode: 'heartbeat', redisUrl: redis.url, timing: DEFAULT_TIMING });
  const pod = await startPod('pod-hb', { redisUrl: redis.url, jwtSecret, timing: DEFAULT_TIMING, entry: config.appEntry });
  const workers = Array.from({ length: Math.max(1, config.hbProcs) }, (_, i) => startWorker(`hb-generator-${i}`));
  const redisProc = { name: 'redis', pid: redis.pid };
  const watchFor = (server) => [{ name: server.name, pid: server.pid }, ...workers.map((w) => ({ name: w.name, pid: w.pid })), redisProc];
  try {
    if (has('memory')) {
      results.memory = await phase('idle memory per connection', 300_000 + 4 * config.idleCpuSeconds * 1000, async () => ({
        bare: await idleMemory({ server: bare, redis: redis.redis, worker: workers[0], count: config.idleConnections, secret: jwtSecret, end: false, cpuSeconds: config.idleCpuSeconds }),
        service: await idleMemory({ server: pod, redis: redis.redis, worker: workers[0], count: config.idleConnections, secret: jwtSecret, end: true, cpuSeconds: config.idleCpuSeconds }),
      }));
      const m = results.memory;
      const over = m && (m.service.rssPerConnection > m.bare.rssPerConnection || m.service.heapPerConnection > m.bare.heapPerConnection);
      if (config.profile === 'always' || (config.profile === 'auto' && over)) {
        const count = Math.min(config.idleConnections, 1000);
        results.heapDiff = await phase('heap snapshots: what an idle connection keeps', 300_000, async () => ({
          service: await heapDiff({ server: pod, worker: workers[0], count, secret: jwtSecret, end: true }),
          bare: await heapDiff({ server: bare, worker: workers[0], count, secret: jwtSecret, end: false }),
        }));
      }
    }
    if (has('throughput')) await throughputPhases({ redis, bare, pod, workers, watchFor });
  } finally {
    await Promise.all([stopServer(bare), stopServer(pod), ...workers.map((worker) => worker.stop())]);
  }
  try {
    if (has('ceiling')) {
      results.ceiling = await phase('Redis ceiling (redis-benchmark)', 400_000, () =>
        redisCeiling({ redis: redis.redis, port: redis.port, requests: config.redisBenchRequests, ttlMs: Number(DEFAULT_TIMING.PRESENCE_TTL_MS) }));
    }
  } finally {
    redis.redis.disconnect();
    await stopServer(redis);
  }
}

/** Starts `count` servers (`start(i)`), runs `use(servers)`, and stops every one of them whatever happened. */
async function withServers(count, start, use) {
  const servers = [];
  try {
    servers.push(...(await Promise.all(Array.from({ length: count }, (_, i) => start(i)))));
    return await use(servers);
  } finally {
    await Promise.all(servers.map(stopServer));
  }
}

/** Bare broadcast servers on `redisUrl`, named `<prefix>-<i>` (for withServers). */
const bareBroadcast = (prefix, redisUrl) => (i) => startBaseline(`${prefix}-${i}`, { mode: 'broadcast', redisUrl, timing: SCALED_TIMING, inspect: false });

/** Pods with the delivery phases' scaled timing (and `env` on top), named `<prefix>-<i>` (for withServers). */
const scaledPods = (prefix, redisUrl, { entry = config.appEntry, env = {} } = {}) => (i) =>
  startPod(`${prefix}-${i}`, { redisUrl, jwtSecret, timing: { ...SCALED_TIMING, ...env }, inspect: false, entry });

async function clusterPhases() {
  const redis = await startRedis('redis-cluster');
  const plan = deliveryPlan(config);
  const viewerWorkers = Array.from({ length: Math.max(1, config.viewerProcs) }, (_, i) => startWorker(`viewer-generator-${i}`));
  const streamerWorker = startWorker('streamer-generator');
  const generators = [...viewerWorkers, streamerWorker].map((w) => ({ name: w.name, pid: w.pid }));
  const redisProc = { name: 'redis', pid: redis.pid };
  const viewersMs = (config.viewers / config.viewerRate) * 1000 * 3;
  const streamersMs = ((config.streamers + config.silent) / config.connectRate) * 1000 * 2;
  try {
    if (has('broadcast')) {
      results.broadcast = await withServers(config.pods, bareBroadcast('bare-broadcast', redis.url), (servers) =>
        phase('delivery baseline: bare broadcast through the adapter', viewersMs + streamersMs + 180_000, () =>
          broadcastBaseline({ plan, servers, viewerWorkers, streamerWorker, config, watch: [...servers, ...generators, redisProc] })));
      await redis.redis.flushall();
    }
    if (has('service')) {
      const deliveries = async (entry, label) => {
        try {
          return await withServers(config.pods, scaledPods('pod', redis.url, { entry }), (pods) =>
            phase(`service deliveries${label}: connect→online, deadline→offline`, viewersMs + streamersMs * 2 + 240_000, () =>
              serviceDeliveries({ plan, pods, redis: redis.redis, viewerWorkers, streamerWorker, config, timing: SCALED_TIMING, watch: [...pods, ...generators, redisProc] })));
        } finally {
          await redis.redis.flushall();
        }
      };
      if (config.beforeEntry === '') {
        results.service = await deliveries(config.appEntry, '');
      } else {
        // Two builds on the same plan, Redis and generators, alternating so that drifting machine load
        // falls on both alike: the change's cost is the difference.
        results.compare = { beforeEntry: config.beforeEntry, afterEntry: config.appEntry, before: [], after: [] };
        for (let round = 1; round <= config.compareRounds; round++) {
          results.compare.before.push(await deliveries(config.beforeEntry, ` (before, round ${round})`));
          results.compare.after.push(await deliveries(config.appEntry, ` (after, round ${round})`));
        }
        results.service = results.compare.after.at(-1);
      }
    }
  } finally {
    await Promise.all([...viewerWorkers, streamerWorker].map((worker) => worker.stop()));
    redis.redis.disconnect();
    await stopServer(redis);
  }
}

/**
 * The same heartbeat loop and the same deliveries with the pods on a Redis Cluster of 3 primaries
 * (REDIS_SHARDS 12, four per primary), beside the single-Redis figures of this run.
 */
async function redisClusterPhases() {
  const cluster = await startRedisCluster('redis-cluster');
  const shards = { REDIS_SHARDS: '12' };
  const watchCluster = cluster.nodes.map((node) => ({ name: node.name, pid: node.pid }));
  try {
    const workers = Array.from({ length: Math.max(1, config.hbProcs) }, (_, i) => startWorker(`cluster-hb-generator-${i}`));
    const pod = await startPod('pod-cluster-hb', { redisUrl: cluster.url, jwtSecret, timing: { ...DEFAULT_TIMING, ...shards }, entry: config.appEntry });
    try {
      const args = { redis: cluster.redis, workers, clients: config.hbClients, warmupMs: config.hbWarmupSeconds * 1000, durationMs: config.hbSeconds * 1000, secret: jwtSecret };
      results.redisCluster = { primaries: cluster.redis.length, shards: 12 };
      results.redisCluster.throughput = await phase('heartbeat throughput, Redis Cluster', 2 * hbMs + 180_000, () =>
        heartbeatThroughput({ ...args, server: pod, end: true, pinned: false, watch: [{ name: pod.name, pid: pod.pid }, ...workers.map((w) => ({ name: w.name, pid: w.pid })), ...watchCluster] }));
    } finally {
      await Promise.all([stopServer(pod), ...workers.map((worker) => worker.stop())]);
      await cluster.flushall();
    }
    const plan = deliveryPlan(config);
    const viewerWorkers = Array.from({ length: Math.max(1, config.viewerProcs) }, (_, i) => startWorker(`cluster-viewer-generator-${i}`));
    const streamerWorker = startWorker('cluster-streamer-generator');
    const generators = [...viewerWorkers, streamerWorker].map((w) => ({ name: w.name, pid: w.pid }));
    const viewersMs = (config.viewers / config.viewerRate) * 1000 * 3;
    const streamersMs = ((config.streamers + config.silent) / config.connectRate) * 1000 * 2;
    try {
      results.redisCluster.service = await withServers(config.pods, scaledPods('pod-cluster', cluster.url, { env: shards }), (pods) =>
        phase('service deliveries, Redis Cluster: connect→online, deadline→offline', viewersMs + streamersMs * 2 + 240_000, () =>
          serviceDeliveries({ plan, pods, redis: cluster.redis, viewerWorkers, streamerWorker, config, timing: SCALED_TIMING, watch: [...pods, ...generators, ...watchCluster] })));
    } finally {
      await Promise.all([...viewerWorkers, streamerWorker].map((worker) => worker.stop()));
    }
  } finally {
    for (const node of cluster.nodes) node.redis.disconnect();
    await Promise.all(cluster.nodes.map(stopServer));
  }
}

/** One streamer, `hotViewers` viewers over the pods: on bare broadcast servers, then on the service. */
async function hotStreamerPhases() {
  const redis = await startRedis('redis-hot');
  const viewerWorkers = Array.from({ length: Math.max(1, config.viewerProcs) }, (_, i) => startWorker(`hot-viewer-generator-${i}`));
  const streamerWorker = startWorker('hot-streamer-generator');
  const openMs = (config.hotViewers / config.viewerRate) * 1000 * 3;
  const cyclesMs = (config.hotCycles + 1) * (Number(SCALED_TIMING.RECONNECT_GRACE_MS) + 25_000);
  results.hot = { viewers: config.hotViewers, pods: config.pods };
  try {
    results.hot.bare = await withServers(config.pods, bareBroadcast('hot-bare', redis.url), (servers) =>
      phase('hot streamer baseline: one room, bare broadcast', openMs + cyclesMs + 120_000, () => hotBaseline({ servers, viewerWorkers, streamerWorker, config })));
    await redis.redis.flushall();
    results.hot.service = await withServers(config.pods, scaledPods('hot-pod', redis.url), (pods) =>
      phase('hot streamer: one streamer online and offline', openMs + cyclesMs + 120_000, () =>
        hotService({ pods, viewerWorkers, streamerWorker, config, secret: jwtSecret, graceMs: Number(SCALED_TIMING.RECONNECT_GRACE_MS) })));
  } finally {
    await Promise.all([...viewerWorkers, streamerWorker].map((worker) => worker.stop()));
    redis.redis.disconnect();
    await stopServer(redis);
  }
}

/** A pod of `pods` SIGKILLed with its clients: the survivors take them (bare: a burst of plain connections). */
/**
 * The storm's streamers must be back within their TTL. The delivery phases' 5 s is a test of the
 * sweeper, not of a reconnect: how long 5,500 reconnects take depends on the host (this VM's varied
 * two-fold from one day to the next), so the storm runs with a TTL of 20 s, still a fifth of the
 * production default (110 s).
 */
const STORM_TIMING = Object.freeze({ HEARTBEAT_INTERVAL_MS: '5000', PRESENCE_TTL_MS: '20000' });

async function stormPhases() {
  const redis = await startRedis('redis-storm');
  const workers = Array.from({ length: Math.max(1, config.viewerProcs) }, (_, i) => startWorker(`storm-generator-${i}`));
  const clients = config.stormViewers + config.stormStreamers;
  results.storm = { viewers: config.stormViewers, streamers: config.stormStreamers, pods: config.pods };
  try {
    // As many bare servers as the service has survivors.
    results.storm.bare = await withServers(config.pods - 1, bareBroadcast('storm-bare', redis.url), (servers) =>
      phase('reconnect storm baseline: a burst of plain connections', 180_000, () => stormBaseline({ servers, workers, config })));
    await redis.redis.flushall();
    results.storm.ttlMs = Number(STORM_TIMING.PRESENCE_TTL_MS);
    results.storm.service = await withServers(config.pods, scaledPods('storm-pod', redis.url, { env: STORM_TIMING }), (pods) =>
      phase('reconnect storm: a pod SIGKILLed with its clients', (clients / config.viewerRate) * 3000 + 180_000, () =>
        reconnectStorm({ pods, workers, config, secret: jwtSecret, ttlMs: results.storm.ttlMs })));
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
    redis.redis.disconnect();
    await stopServer(redis);
  }
}

let finished = false;
function finish(code) {
  if (finished) return;
  finished = true;
  clearTimeout(hardStop);
  killAll();
  results.finishedAt = new Date().toISOString();
  results.durationSeconds = (performance.now() - started) / 1000;
  try {
    const { jsonFile, mdFile } = writeReports(results, { resultsDir: RESULTS_DIR, stamp, benchmarksFile: BENCHMARKS_FILE, updateDoc: config.updateDoc });
    log(`results: ${jsonFile}, ${mdFile}${config.updateDoc ? ', BENCHMARKS.md' : ''}`);
  } catch (error) {
    log(`could not write the report: ${error.stack}`);
    code = code || 1;
  }
  if (results.errors.length > 0 || config.keepLogs) log(`process logs kept in ${logDir}`);
  else removeLogs();
  process.exit(code);
}

log(`${config.small ? 'small-scale' : 'full-scale'} run on ${machineLine(results.machine)}`);
log(`phases: ${[...config.phases].join(', ')}; logs in ${logDir}`);
try {
  if (['memory', 'throughput', 'ceiling'].some(has)) await singlePodPhases();
  if (['broadcast', 'service'].some(has)) await clusterPhases();
  if (has('redis-cluster')) await redisClusterPhases();
  if (has('hot')) await hotStreamerPhases();
  if (has('storm')) await stormPhases();
} catch (error) {
  log(`run failed: ${error.stack}`);
  results.errors.push(error.message.split('\n')[0]);
}
finish(results.errors.length > 0 ? 1 : 0);
