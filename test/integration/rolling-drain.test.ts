// Done-when 3 of "Deploy to Kubernetes": pods behind nginx (the Ingress), 200 streamers and 500 viewers
// connected through it with stock socket.io-clients (WebSocket only, reconnection on, randomized backoff).
// SIGTERM one pod: its clients reconnect to the others and viewers see nothing. Then a rolling restart of
// all three pods, one after another, as a Deployment with maxSurge 1 / maxUnavailable 0 does it: start
// the new pod, wait until it is ready, SIGTERM an old one. Same outcome. (drain-short-grace.test.ts does
// the same at a small scale with a grace too short for a client refused twice.)
import { useCleanup } from '../helpers/cleanup.js';
import { type Nginx, startIngress } from '../helpers/nginx.js';
import { PodSlots } from '../helpers/pod-slots.js';
import { startRedis } from '../helpers/redis-server.js';
import { connectionsPerPod, percentile, StockFleet } from '../helpers/stock-fleet.js';
import { sleep } from '../helpers/timing.js';
import type { PresenceState } from '../../src/presence/domain/presence-state.js';

useCleanup();

// The production timings (k8s/base/config.env) scaled down, keeping their rules: heartbeat < TTL and < LB
// timeout, ping interval + timeout < LB timeout, a grace longer than a client's reconnect.
const TIMING = {
  HEARTBEAT_INTERVAL_MS: '1000',
  PRESENCE_TTL_MS: '3000',
  RECONNECT_GRACE_MS: '5000',
  // Socket.IO pings every 2.5 s with a 2 s timeout under it: room for a busy 2-core test machine.
  LB_IDLE_TIMEOUT_MS: '6000',
  DRAIN_MS: '2000',
} as const;
const GRACE_MS = Number(TIMING.RECONNECT_GRACE_MS);
const DRAIN_MS = Number(TIMING.DRAIN_MS);
/** After DRAIN_MS the app settles its presence writes (≤ 2 s) and closes: the manifests allow 5 s for that too. */
const EXIT_WITHIN_MS = DRAIN_MS + 5_000;
/** An offline event is due within 1 s of close + grace: wait that long past the last move before concluding none came. */
const QUIET_MS = GRACE_MS + 1_500;
/** Every client is back by then (the backoff's first retry comes 0.5 to 1.5 s after the close); else it is stuck. */
const RECONNECT_WITHIN_MS = 15_000;

const STREAMERS = 200;
const VIEWERS = 500;
const SUBSCRIPTIONS_PER_VIEWER = 3;
/** Initial pods, the one that replaces the first SIGTERMed pod, then one new pod per rolled pod. */
const POD_SLOTS = 7;

let nginx: Nginx;
let redisUrl: string;
let slots: PodSlots;
let fleet: StockFleet;
const figures: string[] = [];

const startPod = (slot: number) => slots.start(slot, { redisUrl, env: { ...TIMING, REDIS_KEY_PREFIX: `rolling-drain-${process.pid}:` } });

/**
 * SIGTERMs the pod in `slot`, checks it exits 0 in time, and waits until every client is connected (and
 * every viewer subscribed) again.
 */
async function drain(slot: number, label: string): Promise<void> {
  const counts = fleet.reconnectCounts();
  const signalledAt = Date.now();
  const { code, exitMs } = await slots.sigterm(slot, EXIT_WITHIN_MS);
  expect({ pod: `pod-${slot}`, code }).toEqual({ pod: `pod-${slot}`, code: 0 });
  expect(exitMs).toBeLessThan(EXIT_WITHIN_MS);
  await fleet.allReady(RECONNECT_WITHIN_MS);
  const allBackMs = Date.now() - signalledAt;
  // Transport close to connected (and subscribed) again, for each client that moved in this phase.
  const times = fleet.reconnectTimesSince(counts);
  figures.push(
    `${label}: exit ${code} after ${exitMs} ms; ${times.length} clients moved, all back ${allBackMs} ms after SIGTERM; ` +
      `reconnect p50 ${percentile(times, 50)} ms, p99 ${percentile(times, 99)} ms, max ${Math.max(0, ...times)} ms`,
  );
}

/** Waits out the grace of the last moved connections, then: nothing happened, for anyone. */
async function expectNothingSeen(phase: string): Promise<void> {
  await sleep(QUIET_MS);
  const noticed = fleet.noticed();
  figures.push(
    `${phase}: ${noticed.events.length} presence events, ${noticed.offline.length} offline snapshots, ${noticed.errors.length} client errors, ` +
      `${noticed.resyncs} resyncs, connections per pod ${JSON.stringify(await connectionsPerPod(slots.pods))}`,
  );
  const first = (list: string[]) => list.slice(0, 10);
  expect({ phase, events: first(noticed.events), offline: first(noticed.offline), errors: first(noticed.errors), changed: first(noticed.changed), reasons: noticed.reasons, resyncs: noticed.resyncs }).toEqual(
    { phase, events: [], offline: [], errors: [], changed: [], reasons: [], resyncs: 0 },
  );
}

beforeAll(async () => {
  redisUrl = (await startRedis()).url;
  slots = await PodSlots.reserve(POD_SLOTS);
  await Promise.all([0, 1, 2].map(startPod));
  // The Ingress: every slot listed, a handshake refused by a draining pod (503) retried on the next.
  nginx = await startIngress(slots.ports, Number(TIMING.LB_IDLE_TIMEOUT_MS), { workerConnections: 4_096 });
  fleet = new StockFleet(nginx.url, Number(TIMING.HEARTBEAT_INTERVAL_MS));

  const ids = Array.from({ length: STREAMERS }, (_, i) => `roll-${i}`);
  for (let i = 0; i < STREAMERS; i += 50) {
    for (const id of ids.slice(i, i + 50)) fleet.addStreamer(id);
    await fleet.allReady(15_000);
  }
  await fleet.recordInitialVersions(slots.get(0));
  // Each viewer follows a few streamers spread over all 200.
  for (let i = 0; i < VIEWERS; i += 50) {
    for (let j = i; j < Math.min(VIEWERS, i + 50); j++) {
      fleet.addViewer(`viewer ${j}`, Array.from({ length: SUBSCRIPTIONS_PER_VIEWER }, (_, k) => ids[(j * 7 + k * 67) % STREAMERS]!));
    }
    await fleet.allReady(15_000);
  }
  figures.push(`start: ${STREAMERS} streamers and ${VIEWERS} viewers connected through nginx; per pod ${JSON.stringify(await connectionsPerPod(slots.pods))}`);
}, 60_000);

afterAll(() => {
  console.log(`rolling-drain figures:\n  ${figures.join('\n  ')}`);
});

test('SIGTERM one pod: its clients reconnect to the others, viewers see no offline, no client errors, exit 0 in time', async () => {
  const before = await connectionsPerPod(slots.pods);
  await drain(0, 'SIGTERM pod-0');
  const after = await connectionsPerPod(slots.pods);
  // Every client is connected again, now only to the two pods left, which took the drained pod's share.
  expect(Object.keys(after).sort()).toEqual(['pod-1', 'pod-2']);
  expect(after['pod-1']! + after['pod-2']!).toBe(STREAMERS + VIEWERS);
  expect(after['pod-1']!).toBeGreaterThan(before['pod-1']!);
  expect(after['pod-2']!).toBeGreaterThan(before['pod-2']!);
  await expectNothingSeen('after SIGTERM of pod-0');
}, 60_000);

test('rolling restart of all three pods, one after another: the same', async () => {
  // The Deployment controller replaces the pod that went away first.
  await startPod(3);
  for (const [old, replacement] of [[1, 4], [2, 5], [3, 6]] as const) {
    await startPod(replacement);
    await drain(old, `rolling: pod-${replacement} ready, SIGTERM pod-${old}`);
  }
  const perPod = await connectionsPerPod(slots.pods);
  expect(Object.keys(perPod).sort()).toEqual(['pod-4', 'pod-5', 'pod-6']);
  expect(Object.values(perPod).reduce((a, b) => a + b, 0)).toBe(STREAMERS + VIEWERS);
  await expectNothingSeen('after the rolling restart');
  // And the cluster agrees: every streamer still online, at the version it had before any pod stopped.
  const app = slots.get(4);
  const changed: string[] = [];
  for (let i = 0; i < STREAMERS; i++) {
    const state = (await (await fetch(`${app.url}/v1/streamers/roll-${i}/presence`)).json()) as PresenceState;
    const before = fleet.initialVersion(`roll-${i}`);
    if (state.status !== 'online' || state.version !== before) changed.push(`roll-${i}: ${state.status} v${state.version} (was v${before})`);
  }
  expect(changed).toEqual([]);
}, 90_000);
