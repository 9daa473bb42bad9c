// Reconnect storm: one of the pods, holding `stormViewers` SDK viewers and `stormStreamers` SDK
// streamers, is SIGKILLed. Every client knows all the pods' URLs (half list them in one order, half in
// the other, so they spread over the survivors) and reconnects by itself. Measured: how long until 99 %
// are back (a viewer resubscribed, a streamer with a new session), the survivors' accept rate, and the
// offline events viewers saw (none may come: the streamers are back within their TTL). Baseline: the
// same number of plain connections opened at once against bare Socket.IO servers, as many as survivors.
import { mulberry32 } from '../../scripts/mulberry32.mjs';
import { log } from '../progress.mjs';
import { sleep } from '../load/clock.mjs';
import { summarize } from '../stats.mjs';

function stormPlan({ stormViewers, stormStreamers, follows, seed }, urls) {
  const random = mulberry32(seed);
  const order = (i) => (i % 2 === 0 ? [urls[0], urls[1], urls[2]] : [urls[0], urls[2], urls[1]]);
  const streamers = Array.from({ length: stormStreamers }, (_, i) => ({ id: `storm-${i}`, urls: order(i) }));
  const viewers = Array.from({ length: stormViewers }, (_, i) => {
    const chosen = new Set();
    while (chosen.size < Math.min(follows, stormStreamers)) chosen.add(streamers[Math.floor(random() * stormStreamers)].id);
    return { urls: order(i), follows: [...chosen] };
  });
  return { streamers, viewers };
}

export async function stormBaseline({ servers, workers, config }) {
  const count = config.stormViewers + config.stormStreamers;
  const share = Math.ceil(count / workers.length);
  const parts = await Promise.all(workers.map((worker, i) =>
    worker.call('storm.burst', { urls: servers.map((s) => s.url), count: Math.min(share, count - i * share) }, 120_000)));
  const started = Math.min(...parts.map((p) => p.started));
  const done = Math.max(...parts.flatMap((p) => p.connectedAt));
  await Promise.all(workers.map((worker) => worker.call('storm.close')));
  const seconds = (done - started) / 1000;
  const acceptPerPod = Math.round(count / seconds / servers.length);
  log(`  storm baseline: ${count} plain connections onto ${servers.length} bare servers in ${Math.round(seconds * 1000)} ms: ${acceptPerPod} connections/s per server`);
  return { connections: count, servers: servers.length, ms: done - started, acceptPerPod };
}

export async function reconnectStorm({ pods, workers, config, secret, ttlMs }) {
  const plan = stormPlan(config, pods.map((p) => p.url));
  const share = (list, i) => list.filter((_, k) => k % workers.length === i);
  log(`  storm: ${plan.viewers.length} viewers and ${plan.streamers.length} streamers onto ${pods[0].name}`);
  await Promise.all(workers.map((worker, i) => worker.call('storm.open', {
    viewers: share(plan.viewers, i), streamers: share(plan.streamers, i), ratePerSec: config.viewerRate / workers.length, secret,
  }, ((plan.viewers.length + plan.streamers.length) / config.viewerRate) * 3000 + 60_000)));
  await sleep(1_000);

  const killedAt = Date.now();
  pods[0].child.kill('SIGKILL');
  const total = plan.viewers.length + plan.streamers.length;
  const back = async () => {
    const reports = await Promise.all(workers.map((worker) => worker.call('storm.report')));
    const times = reports.flatMap((r) => [...r.viewers, ...r.streamers]).filter((t) => t > killedAt).map((t) => t - killedAt);
    return { times, offline: reports.reduce((sum, r) => sum + r.offline, 0), viewers: reports.flatMap((r) => r.viewers).filter((t) => t > killedAt).length, streamers: reports.flatMap((r) => r.streamers).filter((t) => t > killedAt).length };
  };
  let state = await back();
  const giveUpAt = Date.now() + 60_000;
  while (state.times.length < total * 0.99 && Date.now() < giveUpAt) {
    await sleep(250);
    state = await back();
  }
  const sorted = [...state.times].sort((a, b) => a - b);
  const to99 = sorted.length >= total * 0.99 ? sorted[Math.ceil(total * 0.99) - 1] : null;
  // Past every streamer's TTL: an offline event would have come by now.
  await sleep(ttlMs + 2_000);
  state = await back();
  await Promise.all(workers.map((worker) => worker.call('storm.close')));
  const survivors = pods.length - 1;
  const result = {
    clients: total,
    backWithin60s: state.times.length,
    viewersBack: state.viewers,
    streamersBack: state.streamers,
    msTo99Percent: to99,
    backMs: summarize(state.times),
    acceptPerPod: to99 === null ? null : Math.round((total * 0.99) / (to99 / 1000) / survivors),
    offlineEvents: state.offline,
  };
  log(`  storm: 99 % of ${total} clients back ${to99} ms after the SIGKILL (p50 ${result.backMs.p50} ms), ${result.acceptPerPod} connections/s per surviving pod, ${result.offlineEvents} offline events`);
  return result;
}
