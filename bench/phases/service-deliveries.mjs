// The service's delivery phases on N pods with scaled timing:
// 1. silent streamers connect (and heartbeat), then every viewer watches its streamers (SDK);
// 2. online: the SDK streamers connect, round-robin over the pods → connect→online latency;
// 3. offline: the SDK streamers close (→ `disconnected` at close + grace) and the silent ones stop
//    heartbeating (→ `timeout` at last heartbeat + TTL) → deadline→offline latency, early arrivals.
// Per pod over both: adapter messages received against deliveries, and CPU. Redis memory per online streamer.
import { log, ticking } from '../progress.mjs';
import { cpuMeter, redisUsedMemory, round, scrapeMetrics } from '../probes.mjs';
import { summarize } from '../stats.mjs';
import { collect, offlineLatency, onlineLatency, recordedSoFar, waitForEvents } from './deliveries.mjs';
import { total } from './plan.mjs';

/** The pods' histograms that split a delivery into its stages, as cumulative bucket counts. */
const STAGES = {
  // deadline → the sweeper's store call appended the offline to the log
  sweep: ['presence_offline_lag_seconds', ''],
  // the store decided → this pod emitted to a viewer socket (relay, adapter)
  fanout: ['presence_fanout_latency_seconds', ''],
  // each expire-due store call: the due-ids read of every tick (mostly finding nothing), each shard's expiry
  expireCall: ['presence_store_command_seconds', 'operation="expire-due"'],
};

async function podCounters(pods) {
  return Promise.all(pods.map(async (pod) => {
    const metrics = await scrapeMetrics(pod.url);
    return {
      received: metrics.sum('presence_adapter_messages_received_total'),
      delivered: metrics.sum('presence_event_deliveries_total'),
      published: metrics.sum('presence_events_total'),
      // prom-client resets its event-loop delay histogram at each scrape: these cover the time since the last one.
      loopDelayMs: { p99: round(metrics.sum('nodejs_eventloop_lag_p99_seconds') * 1000, 1), max: round(metrics.sum('nodejs_eventloop_lag_max_seconds') * 1000, 1) },
      stages: Object.fromEntries(Object.entries(STAGES).map(([stage, metric]) => [stage, metrics.buckets(...metric)])),
    };
  }));
}

/** Per stage, over all pods between two scrapes: the share of observations at or under each bucket bound. */
function stageShares(before, after) {
  return Object.fromEntries(Object.keys(STAGES).map((stage) => {
    const delta = new Map();
    after.forEach((pod, i) => {
      for (const [le, count] of pod.stages[stage]) delta.set(le, (delta.get(le) ?? 0) + count - (before[i].stages[stage].get(le) ?? 0));
    });
    const all = delta.get('+Inf') ?? 0;
    const shares = Object.fromEntries([...delta].filter(([le]) => le !== '+Inf').map(([le, count]) => [`≤${Number(le) * 1000} ms`, all > 0 ? round(count / all, 3) : null]));
    return [stage, { count: all, shares }];
  }));
}

function adapterDelta(pods, before, after) {
  return pods.map((pod, i) => {
    const received = after[i].received - before[i].received;
    const delivered = after[i].delivered - before[i].delivered;
    return { pod: pod.name, received, delivered, published: after[i].published - before[i].published, ratio: delivered > 0 ? received / delivered : null };
  });
}

export async function serviceDeliveries({ plan, pods, redis, viewerWorkers, streamerWorker, config, timing, watch }) {
  const url = (pod) => pods[pod].url;
  const ttlMs = Number(timing.PRESENCE_TTL_MS);
  const graceMs = Number(timing.RECONNECT_GRACE_MS);
  const intervalMs = Number(timing.HEARTBEAT_INTERVAL_MS);
  const secret = config.jwtSecret;

  log(`  service: ${plan.silent.length} silent streamers connect and heartbeat every ${intervalMs} ms`);
  const sum = (workers, group, key) => workers.reduce((total, worker) => total + (worker.progress[group]?.[key] ?? 0), 0);
  await ticking(streamerWorker.call('streamers.connectSilent', {
    streamers: plan.silent.map(({ id, pod }) => ({ id, pod, url: url(pod) })),
    ratePerSec: config.connectRate,
    secret,
    intervalMs,
  }, (plan.silent.length / Math.max(1, config.connectRate)) * 1000 + 60_000), () => `${sum([streamerWorker], 'streamers', 'silentBeating')}/${plan.silent.length} silent streamers up`);

  log(`  service: ${config.viewers} SDK viewers watch ${config.follows} streamers each, over ${pods.length} pods`);
  const expectedViewers = plan.viewerGroups.reduce((sum, group) => sum + group.length, 0);
  const openTimeout = (expectedViewers / config.viewerRate) * 1000 * 3 + 60_000;
  await ticking(Promise.all(viewerWorkers.map((worker, i) => worker.call('viewers.openService', {
    viewers: plan.viewerGroups[i].map(({ pod, follows }) => ({ url: url(pod), pod, follows })),
    ratePerSec: config.viewerRate / viewerWorkers.length,
  }, openTimeout))), () => `${sum(viewerWorkers, 'viewers', 'open')}/${expectedViewers} viewers watching`);
  log(`  service: warm-up, ${plan.warmup.length} streamers (not measured)`);
  let base = recordedSoFar(viewerWorkers);
  await streamerWorker.call('streamers.connect', {
    streamers: plan.warmup.map(({ id, pod }) => ({ id, pod, url: url(pod) })),
    ratePerSec: config.connectRate,
    secret,
    warmup: true,
  }, 120_000);
  await waitForEvents(viewerWorkers, base, plan.warmup.length * pods.length, 10_000, 'warm-up');
  await collect(viewerWorkers);

  // Online.
  const counters0 = await podCounters(pods);
  const memory0 = await redisUsedMemory(redis);
  const onlineMeter = cpuMeter(watch);
  onlineMeter.start();
  base = recordedSoFar(viewerWorkers);
  log(`  service: ${plan.streamers.length} SDK streamers connect at ${config.connectRate}/s`);
  const { streamers: started } = await ticking(streamerWorker.call('streamers.connect', {
    streamers: plan.streamers.map(({ id, pod }) => ({ id, pod, url: url(pod) })),
    ratePerSec: config.connectRate,
    secret,
  }, (plan.streamers.length / config.connectRate) * 1000 + 90_000), () => `${sum([streamerWorker], 'streamers', 'sessions')}/${plan.streamers.length} streamers have their session`);
  const noSession = started.filter(([, , , session]) => session === null).length;
  await waitForEvents(viewerWorkers, base, total(plan.expectedOnline), 20_000, 'online');
  const onlineCpu = onlineMeter.read();
  const memory1 = await redisUsedMemory(redis);
  const counters1 = await podCounters(pods);
  const onlineEvents = await collect(viewerWorkers);
  const online = onlineLatency(onlineEvents, new Map(started.map(([id, pod, t0]) => [id, { pod, t0 }])), plan.expectedOnline);
  online.streamersWithoutSession = noSession;
  // The client's side of a connect: start → `session` (handshake, JWT check, connect script, session emit).
  online.connectToSession = summarize(started.filter(([, , , session]) => session !== null).map(([, , t0, session]) => session - t0));
  online.overTime = latencyOverTime(onlineEvents, started);
  log(`  service: connect→online at other pods p50 ${online.otherPods.p50} ms, p99 ${online.otherPods.p99} ms, max ${online.otherPods.max} ms (${online.missing} missing)`);
  // Where the time went: the client's connect until its session, and the pods' fan-out of each online.
  online.fanout = stageShares(counters0, counters1).fanout;
  online.loopDelayMs = Object.fromEntries(pods.map((pod, i) => [pod.name, counters1[i].loopDelayMs]));
  log(`  service: connect→session p50 ${online.connectToSession.p50} ms, p99 ${online.connectToSession.p99} ms; online fanout (${online.fanout.count}): ` +
    `${Object.entries(online.fanout.shares).map(([le, share]) => `${le} ${share}`).join(', ')}; pods' event-loop delay (p99 / max): ` +
    `${pods.map((pod, i) => `${counters1[i].loopDelayMs.p99} / ${counters1[i].loopDelayMs.max} ms`).join(', ')}`);

  // Offline.
  const offlineMeter = cpuMeter(watch);
  offlineMeter.start();
  base = recordedSoFar(viewerWorkers);
  log(`  service: ${plan.streamers.length} streamers close (grace ${graceMs} ms), ${plan.silent.length} go silent (TTL ${ttlMs} ms)`);
  const closeMs = (plan.streamers.length / config.connectRate) * 1000;
  const [{ silent }, { closed }] = await Promise.all([
    streamerWorker.call('streamers.stopSilent', {}, 30_000),
    streamerWorker.call('streamers.close', { ratePerSec: config.connectRate }, closeMs + 60_000),
  ]);
  const deadlines = new Map();
  const podOf = new Map([...plan.streamers, ...plan.silent].map(({ id, pod }) => [id, pod]));
  for (const [id, at] of closed) deadlines.set(id, { pod: podOf.get(id), reason: 'disconnected', lowerBound: at + graceMs });
  for (const [id, lastSent, lastServerTime] of silent) {
    deadlines.set(id, { pod: podOf.get(id), reason: 'timeout', lowerBound: lastSent + ttlMs, exact: lastServerTime + ttlMs });
  }
  await waitForEvents(viewerWorkers, base, total(plan.expectedOffline), ttlMs + graceMs + 15_000, 'offline');
  const offlineCpu = offlineMeter.read();
  const counters2 = await podCounters(pods);
  const offline = offlineLatency(await collect(viewerWorkers), deadlines, plan.expectedOffline);
  log(`  service: deadline→offline at other pods p50 ${offline.otherPods.p50} ms, p99 ${offline.otherPods.p99} ms, max ${offline.otherPods.max} ms; ` +
    `${offline.arrivedBeforeDeadline} before the deadline (min ${offline.minMsAfterDeadline} ms after it); ${offline.missing} missing`);
  offline.stages = stageShares(counters1, counters2);
  offline.loopDelayMs = Object.fromEntries(pods.map((pod, i) => [pod.name, counters2[i].loopDelayMs]));
  log(`  service: pods' event-loop delay over the offline phase (p99 / max): ${pods.map((pod, i) => `${counters2[i].loopDelayMs.p99} / ${counters2[i].loopDelayMs.max} ms`).join(', ')}`);
  for (const [stage, { count, shares }] of Object.entries(offline.stages)) {
    log(`  service: offline stage ${stage} (${count}): ${Object.entries(shares).map(([le, share]) => `${le} ${share}`).join(', ')}`);
  }

  await Promise.all(viewerWorkers.map((worker) => worker.call('viewers.close')));
  await streamerWorker.call('streamers.closeAll');

  const adapterTotal = adapterDelta(pods, counters0, counters2);
  return {
    online,
    offline,
    // Exactly one event per transition cluster-wide: every connect, every close, every silence.
    eventsPublished: adapterTotal.reduce((sum, pod) => sum + pod.published, 0),
    transitions: plan.streamers.length * 2 + plan.silent.length,
    adapter: { online: adapterDelta(pods, counters0, counters1), offline: adapterDelta(pods, counters1, counters2), total: adapterTotal },
    cpu: { online: onlineCpu, offline: offlineCpu },
    redisBytesPerOnlineStreamer: round((memory1 - memory0) / plan.streamers.length, 0),
  };
}

/** connect→online at other pods per second of the connect wave (p50, p99, max): does a queue build up? */
function latencyOverTime(events, started) {
  const starts = new Map(started.map(([id, pod, t0]) => [id, { pod, t0 }]));
  const first = Math.min(...started.map(([, , t0]) => t0));
  const buckets = [];
  for (const [id, reason, , tWall, , viewerPod] of events) {
    const start = starts.get(id);
    if (reason !== 'connected' || start === undefined || start.pod === viewerPod) continue;
    const second = Math.floor((start.t0 - first) / 1000);
    (buckets[second] ??= []).push(tWall - start.t0);
  }
  return [...buckets.entries()].map(([second, values]) => {
    const { count, p50, p99, max } = summarize(values ?? []);
    return { second, count, p50, p99, max };
  });
}
