// Turning what the viewers recorded into latencies. A recorded event is
// [streamerId, reason, since, arrival wallNow(), arrival Date.now(), viewer's pod] (load/viewers.mjs).
import { log, ticker } from '../progress.mjs';
import { sleep } from '../load/clock.mjs';
import { summarize } from '../stats.mjs';

/** Resolves once the viewer workers have recorded `target` more events than `base`, or after `timeoutMs`. */
export async function waitForEvents(viewerWorkers, base, target, timeoutMs, label) {
  const count = () => viewerWorkers.reduce((sum, worker) => sum + (worker.progress.viewers?.events ?? 0), 0) - base;
  const deadline = performance.now() + timeoutMs;
  const stopTicker = ticker(() => `${label}: ${count()}/${target} events at viewers`);
  try {
    while (count() < target && performance.now() < deadline) await sleep(100);
  } finally {
    stopTicker();
  }
  // Progress arrives once a second: give the last events a moment to be counted, then settle.
  await sleep(1_200);
  if (count() < target) log(`  ${label}: only ${count()}/${target} events within ${Math.round(timeoutMs / 1000)} s`);
}

export function recordedSoFar(viewerWorkers) {
  return viewerWorkers.reduce((sum, worker) => sum + (worker.progress.viewers?.events ?? 0), 0);
}

export async function collect(viewerWorkers) {
  const parts = await Promise.all(viewerWorkers.map((worker) => worker.call('viewers.collect', {}, 60_000)));
  return parts.flatMap((part) => part.events);
}

/**
 * connect→online: arrival at a viewer − when the streamer's connect started (client clocks, one
 * machine), at viewers on other pods (the headline) and on the streamer's own pod. `starts`:
 * Map id → { pod, t0 }. Also decision→arrival (arrival − the event's `since`, the store's decision
 * time): the fan-out part alone.
 */
export function onlineLatency(events, starts, expected) {
  const other = [];
  const same = [];
  const fanout = [];
  let unmatched = 0;
  for (const [id, reason, since, tWall, tDate, viewerPod] of events) {
    if (reason !== 'connected') continue;
    const start = starts.get(id);
    if (start === undefined) {
      unmatched++;
      continue;
    }
    if (start.pod === viewerPod) same.push(tWall - start.t0);
    else {
      other.push(tWall - start.t0);
      fanout.push(tDate - since);
    }
  }
  return {
    otherPods: summarize(other),
    samePod: summarize(same),
    decisionToArrivalOtherPods: summarize(fanout),
    expected,
    received: { otherPods: other.length, samePod: same.length },
    missing: expected.otherPods + expected.samePod - other.length - same.length,
    unmatched,
  };
}

/**
 * deadline→offline: arrival (Date.now()) − the event's `since`, which the store stamps with the
 * deadline itself on its clock (Redis TIME, the same machine clock). `deadlines`: Map id → { pod,
 * reason, lowerBound, exact? } where lowerBound is the earliest the deadline can be from what the
 * client saw (close time + grace, or last heartbeat sent + TTL) and `exact` the deadline computed from
 * the last heartbeat ack's serverTime + TTL. An arrival before either is a contract violation.
 */
export function offlineLatency(events, deadlines, expected) {
  const other = [];
  const all = [];
  let beforeDeadline = 0;
  let beforeClientBound = 0;
  let minAfterDeadline = Infinity;
  let minAfterClientBound = Infinity;
  let sinceMismatch = 0;
  const reasons = {};
  for (const [id, reason, since, , tDate, viewerPod] of events) {
    if (reason !== 'disconnected' && reason !== 'timeout') continue;
    const deadline = deadlines.get(id);
    if (deadline === undefined) continue;
    reasons[reason] = (reasons[reason] ?? 0) + 1;
    const latency = tDate - since;
    all.push(latency);
    if (deadline.pod !== viewerPod) other.push(latency);
    if (latency < 0) beforeDeadline++;
    minAfterDeadline = Math.min(minAfterDeadline, latency);
    const afterBound = tDate - deadline.lowerBound;
    if (afterBound < 0) beforeClientBound++;
    minAfterClientBound = Math.min(minAfterClientBound, afterBound);
    if (deadline.exact !== undefined && deadline.exact !== since) sinceMismatch++;
  }
  return {
    otherPods: summarize(other),
    allViewers: summarize(all),
    reasons,
    arrivedBeforeDeadline: beforeDeadline,
    arrivedBeforeClientBound: beforeClientBound,
    minMsAfterDeadline: Number.isFinite(minAfterDeadline) ? minAfterDeadline : null,
    minMsAfterClientBound: Number.isFinite(minAfterClientBound) ? minAfterClientBound : null,
    timeoutDeadlineNotLastAckPlusTtl: sinceMismatch,
    expected,
    received: all.length,
    missing: expected.otherPods + expected.samePod - all.length,
  };
}
