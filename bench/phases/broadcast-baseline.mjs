// The delivery baseline: the same viewers join the same rooms on bare broadcast servers (sharded Redis
// adapter, "dynamic", as the service), and for each streamer of the plan its pod does one
// `io.to(room).emit`, at the same rate the service's streamers connect. Latency is emit request →
// arrival at viewers on other pods; adapter messages received against deliveries, per server.
import { log, ticking } from '../progress.mjs';
import { baselineStats, cpuMeter } from '../probes.mjs';
import { collect, onlineLatency, recordedSoFar, waitForEvents } from './deliveries.mjs';
import { total } from './plan.mjs';

export async function broadcastBaseline({ plan, servers, viewerWorkers, streamerWorker, config, watch }) {
  const viewerRate = config.viewerRate / viewerWorkers.length;
  log(`  baseline: ${config.viewers} viewers joining rooms on ${servers.length} broadcast servers`);
  const expectedViewers = plan.viewerGroups.reduce((sum, group) => sum + group.length, 0);
  const openTimeout = (expectedViewers / config.viewerRate) * 1000 * 3 + 60_000;
  await ticking(Promise.all(viewerWorkers.map((worker, i) => worker.call('viewers.openBaseline', {
    viewers: plan.viewerGroups[i].map(({ pod, follows }) => ({ url: servers[pod].url, pod, follows })),
    ratePerSec: viewerRate,
  }, openTimeout))), () => `${viewerWorkers.reduce((n, w) => n + (w.progress.viewers?.open ?? 0), 0)}/${expectedViewers} viewers joined`);
  await streamerWorker.call('streamers.openControl', { urls: servers.map((server) => server.url) });
  // Warm-up, as for the service: the warm-up rooms, each watched by one viewer per server.
  const warmBase = recordedSoFar(viewerWorkers);
  await streamerWorker.call('streamers.fire', { streamers: plan.warmup, ratePerSec: config.connectRate }, 120_000);
  await waitForEvents(viewerWorkers, warmBase, plan.warmup.length * servers.length, 10_000, 'warm-up');
  await collect(viewerWorkers);

  const before = await Promise.all(servers.map((server) => baselineStats(server.url)));
  const base = recordedSoFar(viewerWorkers);
  const meter = cpuMeter(watch);
  meter.start();
  log(`  baseline: ${plan.streamers.length} room broadcasts at ${config.connectRate}/s`);
  const { fired } = await streamerWorker.call('streamers.fire', { streamers: plan.streamers, ratePerSec: config.connectRate },
    (plan.streamers.length / config.connectRate) * 1000 + 60_000);
  await waitForEvents(viewerWorkers, base, total(plan.expectedOnline), 20_000, 'baseline broadcast');
  const cpu = meter.read();
  const after = await Promise.all(servers.map((server) => baselineStats(server.url)));
  const events = await collect(viewerWorkers);

  const starts = new Map(fired.map(([id, pod, t0]) => [id, { pod, t0 }]));
  const latency = onlineLatency(events, starts, plan.expectedOnline);
  const adapter = servers.map((server, i) => {
    const received = after[i].adapterMessages - before[i].adapterMessages;
    const delivered = after[i].deliveries - before[i].deliveries;
    return { pod: server.name, received, delivered, ratio: delivered > 0 ? received / delivered : null };
  });
  await Promise.all(viewerWorkers.map((worker) => worker.call('viewers.close')));
  await streamerWorker.call('streamers.closeAll');
  log(`  baseline: emit→arrival at other pods p50 ${latency.otherPods.p50} ms, p99 ${latency.otherPods.p99} ms, max ${latency.otherPods.max} ms (${latency.missing} missing)`);
  return { latency, adapter, cpu };
}
