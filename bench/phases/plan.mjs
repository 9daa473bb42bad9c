// Who connects where in the delivery phases: streamers round-robin over the pods, viewers too, each
// viewer following `follows` distinct streamers drawn with a seeded generator (the same plan for the
// service and the broadcast baseline, and from run to run).
import { mulberry32 } from '../../scripts/mulberry32.mjs';

/**
 * { streamers: [{ id, pod }], silent: [{ id, pod }], warmup: [{ id, pod }], viewerGroups: [[{ pod,
 * follows }]] (one per viewer process), expectedOnline, expectedOffline } — expected counts are
 * (viewer, streamer) pairs, split by whether the viewer is on the streamer's pod.
 *
 * The warm-up streamers connect before anything is measured, each watched by one extra viewer per
 * pod, so the connect and delivery paths of every pod are compiled and warm when the measured wave
 * comes; they stay online until the end, so they add no event to a measured phase.
 */
export function deliveryPlan({ pods, streamers, silent, viewers, follows, viewerProcs, seed }) {
  const random = mulberry32(seed);
  const sdk = Array.from({ length: streamers }, (_, i) => ({ id: `st-${i}`, pod: i % pods }));
  const quiet = Array.from({ length: silent }, (_, i) => ({ id: `sq-${i}`, pod: i % pods }));
  const warmup = Array.from({ length: Math.min(100, Math.max(10, Math.round(streamers / 10))) }, (_, i) => ({ id: `sw-${i}`, pod: i % pods }));
  const everyone = [...sdk, ...quiet];
  const podOf = new Map(everyone.map(({ id, pod }) => [id, pod]));
  const groups = Array.from({ length: Math.max(1, viewerProcs) }, () => []);
  const expectedOnline = { otherPods: 0, samePod: 0 };
  const expectedOffline = { otherPods: 0, samePod: 0 };
  for (let v = 0; v < viewers; v++) {
    const pod = v % pods;
    const chosen = new Set();
    while (chosen.size < follows) chosen.add(everyone[Math.floor(random() * everyone.length)].id);
    for (const id of chosen) {
      const where = podOf.get(id) === pod ? 'samePod' : 'otherPods';
      if (id.startsWith('st-')) expectedOnline[where]++;
      expectedOffline[where]++;
    }
    groups[v % groups.length].push({ pod, follows: [...chosen] });
  }
  for (let pod = 0; pod < pods; pod++) groups[pod % groups.length].push({ pod, follows: warmup.map(({ id }) => id) });
  return { streamers: sdk, silent: quiet, warmup, viewerGroups: groups, expectedOnline, expectedOffline };
}

export const total = (expected) => expected.otherPods + expected.samePod;
