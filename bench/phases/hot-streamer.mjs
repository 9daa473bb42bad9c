// Hot streamer: one streamer followed by `hotViewers` viewers spread over the pods goes online and
// offline `hotCycles` times. For each transition: decision → arrival at every viewer (the event's
// `since` against the arrival, one machine's clock), and the last viewer's. Baseline: the same viewers
// in the same room on bare broadcast servers, one `io.to(room).emit` per transition, emit → arrival.
import { log, ticking } from '../progress.mjs';
import { sleep } from '../load/clock.mjs';
import { summarize } from '../stats.mjs';
import { collect, recordedSoFar, waitForEvents } from './deliveries.mjs';

export const HOT_ID = 'hot-0';

/** Viewer groups (one per viewer process), every viewer following HOT_ID, round-robin over the pods. */
export function hotPlan({ pods, hotViewers, viewerProcs }) {
  const groups = Array.from({ length: Math.max(1, viewerProcs) }, () => []);
  for (let v = 0; v < hotViewers; v++) groups[v % groups.length].push({ pod: v % pods, follows: [HOT_ID] });
  return groups;
}

/** Each cycle's latencies (ms) summarized, then the median over cycles of each cycle's p50, p99 and last. */
function overCycles(cycles) {
  const median = (values) => {
    const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
    return sorted.length === 0 ? null : sorted[Math.floor((sorted.length - 1) / 2)];
  };
  return {
    cycles: cycles.length,
    p50: median(cycles.map((c) => c.p50)),
    p99: median(cycles.map((c) => c.p99)),
    last: median(cycles.map((c) => c.max)),
    missing: cycles.reduce((sum, c) => sum + c.missing, 0),
    perCycle: cycles,
  };
}

async function openViewers(viewerWorkers, groups, urls, config, kind) {
  const expected = groups.reduce((sum, group) => sum + group.length, 0);
  const ratePerSec = config.viewerRate / viewerWorkers.length;
  await ticking(Promise.all(viewerWorkers.map((worker, i) => worker.call(kind, {
    viewers: groups[i].map(({ pod, follows }) => ({ url: urls[pod], pod, follows })),
    ratePerSec,
  }, (expected / config.viewerRate) * 1000 * 3 + 60_000))), () => `${viewerWorkers.reduce((n, w) => n + (w.progress.viewers?.open ?? 0), 0)}/${expected} viewers watching ${HOT_ID}`);
  return expected;
}

/** One transition's deliveries: decision (or emit) → arrival, for every viewer. */
function cycleLatency(events, reason, startOf, expected) {
  const latencies = events.filter(([id, r]) => id === HOT_ID && r === reason).map(([, , since, , arrival]) => arrival - startOf(since));
  return { ...summarize(latencies), missing: Math.max(0, expected - latencies.length) };
}

export async function hotBaseline({ servers, viewerWorkers, streamerWorker, config }) {
  const groups = hotPlan({ pods: servers.length, hotViewers: config.hotViewers, viewerProcs: viewerWorkers.length });
  const expected = await openViewers(viewerWorkers, groups, servers.map((s) => s.url), config, 'viewers.openBaseline');
  await streamerWorker.call('streamers.openControl', { urls: servers.map((server) => server.url) });
  const cycles = [];
  for (let cycle = 0; cycle < config.hotCycles + 1; cycle++) {
    const base = recordedSoFar(viewerWorkers);
    // The payload's `since` is the emit's Date.now(): emit → arrival, as the service's decision → arrival.
    await streamerWorker.call('streamers.fire', { streamers: [{ id: HOT_ID, pod: 0 }], ratePerSec: 1 });
    await waitForEvents(viewerWorkers, base, expected, 20_000, `hot broadcast ${cycle}`);
    const latency = cycleLatency(await collect(viewerWorkers), 'connected', (since) => since, expected);
    if (cycle > 0) cycles.push(latency); // the first one warms the path up
  }
  await Promise.all(viewerWorkers.map((worker) => worker.call('viewers.close')));
  await streamerWorker.call('streamers.closeAll');
  const result = overCycles(cycles);
  log(`  hot baseline: ${expected} viewers, emit→last viewer median ${result.last} ms (p50 ${result.p50}, p99 ${result.p99}) over ${result.cycles} broadcasts`);
  return { viewers: expected, ...result };
}

export async function hotService({ pods, viewerWorkers, streamerWorker, config, secret, graceMs }) {
  const groups = hotPlan({ pods: pods.length, hotViewers: config.hotViewers, viewerProcs: viewerWorkers.length });
  const expected = await openViewers(viewerWorkers, groups, pods.map((p) => p.url), config, 'viewers.openService');
  const online = [];
  const offline = [];
  for (let cycle = 0; cycle < config.hotCycles + 1; cycle++) {
    let base = recordedSoFar(viewerWorkers);
    await streamerWorker.call('streamers.connect', { streamers: [{ id: HOT_ID, pod: 0, url: pods[0].url }], ratePerSec: 1, secret });
    await waitForEvents(viewerWorkers, base, expected, 20_000, `hot online ${cycle}`);
    const up = cycleLatency(await collect(viewerWorkers), 'connected', (since) => since, expected);
    base = recordedSoFar(viewerWorkers);
    // Closed without `end`: offline when the grace runs out, decided by a sweeper (its `since` is the deadline).
    await streamerWorker.call('streamers.close', { ratePerSec: 1 });
    await waitForEvents(viewerWorkers, base, expected, graceMs + 20_000, `hot offline ${cycle}`);
    const down = cycleLatency(await collect(viewerWorkers), 'disconnected', (since) => since, expected);
    if (cycle > 0) {
      online.push(up);
      offline.push(down);
    }
    await sleep(200);
  }
  await Promise.all(viewerWorkers.map((worker) => worker.call('viewers.close')));
  await streamerWorker.call('streamers.closeAll');
  const result = { viewers: expected, online: overCycles(online), offline: overCycles(offline) };
  log(`  hot service: ${expected} viewers, decision→last viewer median online ${result.online.last} ms (p50 ${result.online.p50}, p99 ${result.online.p99}), offline ${result.offline.last} ms (p50 ${result.offline.p50}, p99 ${result.offline.p99})`);
  return result;
}
