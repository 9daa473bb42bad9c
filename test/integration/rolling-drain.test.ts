// Done-when 3 of "Deploy to Kubernetes": pods behind nginx (the Ingress), 200 streamers and 500 viewers
// connected through it with stock socket.io-clients (WebSocket only, reconnection on, randomized backoff).
// SIGTERM one pod: its clients reconnect to the others and viewers see nothing. Then a rolling restart of
// all three pods, one after another, as a Deployment with maxSurge 1 / maxUnavailable 0 does it: start
// the new pod, wait until it is ready, SIGTERM an old one. Same outcome.
import { createServer } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import type { PresenceEvent, PresenceState } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { registerCleanup, useCleanup } from '../helpers/cleanup.js';
import { type Nginx, startNginx } from '../helpers/nginx.js';
import { startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { signToken } from '../helpers/tokens.js';

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
const HEARTBEAT_MS = Number(TIMING.HEARTBEAT_INTERVAL_MS);
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

interface Client {
  readonly label: string;
  readonly socket: Socket;
  /** Streamer: connected. Viewer: connected and (re)subscribed. */
  ready: boolean;
  lostAt: number | null;
  /** Milliseconds from each transport close to ready again. */
  readonly reconnectMs: number[];
  readonly disconnectReasons: string[];
  readonly errors: string[];
}

interface Viewer extends Client {
  readonly streamerIds: string[];
  /** The highest version seen per streamer, from snapshots and events. */
  readonly versions: Map<string, number>;
  readonly events: PresenceEvent[];
  /** Offline states found in (re)subscribe snapshots. */
  readonly offlineInSnapshots: PresenceState[];
  resyncs: number;
}

let nginx: Nginx;
let redisUrl: string;
const slots: number[] = [];
const pods = new Map<number, AppProcess>();
const streamers: Client[] = [];
const viewers: Viewer[] = [];
/** Every streamer's presence version once all were online: a version that moves is a transition. */
const initialVersions = new Map<string, number>();
const figures: string[] = [];

/**
 * A port below the kernel's ephemeral range (32768+), free now. Ports for later pods are chosen before
 * nginx starts; ports from the ephemeral range could meanwhile become the local port of one of the
 * hundreds of outgoing connections this test makes.
 */
async function reservedPort(taken: readonly number[]): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function startPod(slot: number): Promise<AppProcess> {
  const app = await startApp({
    redisUrl,
    env: { ...TIMING, PORT: String(slots[slot]), POD_NAME: `pod-${slot}`, REDIS_KEY_PREFIX: `rolling-drain-${process.pid}:` },
  });
  await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  pods.set(slot, app);
  return app;
}

function track<T extends Client>(client: T, onReady: () => void | Promise<void>): T {
  const { socket } = client;
  socket.on('connect', () => void onReady());
  socket.on('disconnect', (reason) => {
    client.ready = false;
    client.lostAt = Date.now();
    client.disconnectReasons.push(reason);
  });
  socket.on('connect_error', (error) => client.errors.push(`connect_error: ${error.message}`));
  socket.io.on('reconnect_failed', () => client.errors.push('reconnect_failed'));
  registerCleanup(() => socket.close());
  return client;
}

function markReady(client: Client): void {
  client.ready = true;
  if (client.lostAt !== null) client.reconnectMs.push(Date.now() - client.lostAt);
  client.lostAt = null;
}

function clientSocket(nsp: string, auth?: Record<string, unknown>): Socket {
  // A stock client: its own connection, WebSocket only, reconnection with the default randomized backoff.
  return io(`${nginx.url}${nsp}`, { transports: ['websocket'], forceNew: true, reconnection: true, ...(auth ? { auth } : {}) });
}

function connectStreamer(id: string): Client {
  const client: Client = track(
    { label: `streamer ${id}`, socket: clientSocket('/streamer', { token: signToken({ sub: id, role: 'streamer' }) }), ready: false, lostAt: null, reconnectMs: [], disconnectReasons: [], errors: [] },
    () => markReady(client),
  );
  // Heartbeats on the server's interval, like the SDK; none is queued while disconnected.
  const timer = setInterval(() => {
    if (!client.socket.connected) return;
    client.socket.emit('heartbeat', (ack: { ok?: boolean; error?: { code: string } } | undefined) => {
      if (ack?.ok === false) client.errors.push(`heartbeat refused: ${ack.error?.code}`);
    });
  }, HEARTBEAT_MS);
  registerCleanup(() => clearInterval(timer));
  return client;
}

function connectViewer(index: number, streamerIds: string[]): Viewer {
  const viewer: Viewer = track(
    {
      label: `viewer ${index}`,
      socket: clientSocket('/viewer'),
      ready: false,
      lostAt: null,
      reconnectMs: [],
      disconnectReasons: [],
      errors: [],
      streamerIds,
      versions: new Map(),
      events: [],
      offlineInSnapshots: [],
      resyncs: 0,
    },
    () => subscribe(viewer),
  );
  viewer.socket.on('presence', (event: PresenceEvent) => {
    viewer.events.push(event);
    viewer.versions.set(event.streamerId, Math.max(event.version, viewer.versions.get(event.streamerId) ?? 0));
  });
  viewer.socket.on('resync', () => {
    viewer.resyncs++;
    void subscribe(viewer);
  });
  return viewer;
}

/** Rooms are per socket: a viewer subscribes again after every reconnect, as the SDK does. */
async function subscribe(viewer: Viewer): Promise<void> {
  try {
    const ack = await viewer.socket.timeout(5_000).emitWithAck('subscribe', { streamerIds: viewer.streamerIds });
    if (!ack.ok) throw new Error(JSON.stringify(ack.error));
    for (const state of ack.presence as PresenceState[]) {
      if (state.status !== 'online') viewer.offlineInSnapshots.push(state);
      viewer.versions.set(state.streamerId, Math.max(state.version, viewer.versions.get(state.streamerId) ?? 0));
    }
    markReady(viewer);
  } catch (error) {
    viewer.errors.push(`subscribe failed: ${(error as Error).message}`);
  }
}

const everyone = (): Client[] => [...streamers, ...viewers];
const notReady = (): Client[] => everyone().filter((c) => !c.ready);

async function allReady(timeoutMs: number): Promise<void> {
  await waitUntil(() => notReady().length === 0, timeoutMs, 50).catch(() => {
    const missing = notReady();
    throw new Error(`${missing.length} clients not connected again, e.g. ${missing.slice(0, 5).map((c) => `${c.label} (${c.errors.join('; ') || 'no error'})`).join(', ')}`);
  });
}

/** Open connections per live pod, from each pod's /metrics. */
async function connectionsPerPod(): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const [slot, app] of pods) {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    result[`pod-${slot}`] = [...text.matchAll(/^presence_connections\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  }
  return result;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * SIGTERMs the pod in `slot`, checks it exits 0 in time, and waits until every client is connected (and
 * every viewer subscribed) again.
 */
async function drain(slot: number, label: string): Promise<void> {
  const app = pods.get(slot)!;
  const counts = new Map(everyone().map((c) => [c, c.reconnectMs.length]));
  const signalledAt = Date.now();
  const code = await app.stop('SIGTERM', EXIT_WITHIN_MS);
  const exitMs = Date.now() - signalledAt;
  pods.delete(slot);
  expect({ pod: `pod-${slot}`, code }).toEqual({ pod: `pod-${slot}`, code: 0 });
  expect(exitMs).toBeLessThan(EXIT_WITHIN_MS);
  await allReady(RECONNECT_WITHIN_MS);
  const allBackMs = Date.now() - signalledAt;
  // Transport close to connected (and subscribed) again, for each client that moved in this phase.
  const times = everyone().flatMap((c) => c.reconnectMs.slice(counts.get(c)));
  figures.push(
    `${label}: exit ${code} after ${exitMs} ms; ${times.length} clients moved, all back ${allBackMs} ms after SIGTERM; ` +
      `reconnect p50 ${percentile(times, 50)} ms, p99 ${percentile(times, 99)} ms, max ${Math.max(0, ...times)} ms`,
  );
}

/** Waits out the grace of the last moved connections, then: nothing happened, for anyone. */
async function expectNothingSeen(phase: string): Promise<void> {
  await sleep(QUIET_MS);
  const events = viewers.flatMap((v) => v.events.map((e) => `${v.label}: ${e.streamerId} ${e.status} (${e.reason})`));
  const offline = viewers.flatMap((v) => v.offlineInSnapshots.map((s) => `${v.label}: snapshot ${s.streamerId} ${s.status}`));
  const errors = everyone().flatMap((c) => c.errors.map((e) => `${c.label}: ${e}`));
  const reasons = new Set(everyone().flatMap((c) => c.disconnectReasons));
  // A version that moved is a transition, even one that happened while the viewer was reconnecting.
  const changed = viewers.flatMap((v) =>
    v.streamerIds.filter((id) => v.versions.get(id) !== initialVersions.get(id)).map((id) => `${v.label}: ${id} v${initialVersions.get(id)} -> v${v.versions.get(id)}`),
  );
  figures.push(
    `${phase}: ${events.length} presence events (${events.filter((e) => / offline /.test(e)).length} offline), ` +
      `${offline.length} offline snapshots, ${errors.length} client errors, ${viewers.reduce((n, v) => n + v.resyncs, 0)} resyncs, ` +
      `disconnect reasons ${JSON.stringify([...reasons])}, connections per pod ${JSON.stringify(await connectionsPerPod())}`,
  );
  expect({ phase, events: events.slice(0, 10), offline: offline.slice(0, 10), errors: errors.slice(0, 10), changed: changed.slice(0, 10) }).toEqual({
    phase,
    events: [],
    offline: [],
    errors: [],
    changed: [],
  });
  // A stock client reconnects after "transport close"; after "io server disconnect" it would give up.
  expect([...reasons].filter((r) => r !== 'transport close')).toEqual([]);
  expect(viewers.reduce((n, v) => n + v.resyncs, 0)).toBe(0);
}

beforeAll(async () => {
  const redis = await startRedis();
  redisUrl = redis.url;
  for (let i = 0; i < POD_SLOTS; i++) slots.push(await reservedPort(slots));
  await Promise.all([0, 1, 2].map(startPod));
  // The Ingress: every slot listed (the ones not started yet refuse connections and are skipped), a
  // refused handshake (403 from a draining pod) retried on the next pod, as the Ingress annotations do.
  nginx = await startNginx({
    upstreamPorts: slots,
    proxyReadTimeoutMs: Number(TIMING.LB_IDLE_TIMEOUT_MS),
    proxyNextUpstream: 'error timeout http_403 http_503',
    maxFails: 0,
    workerConnections: 4_096,
  });

  const ids = Array.from({ length: STREAMERS }, (_, i) => `roll-${i}`);
  for (let i = 0; i < STREAMERS; i += 50) {
    streamers.push(...ids.slice(i, i + 50).map(connectStreamer));
    await waitUntil(() => streamers.every((s) => s.ready), 15_000, 20);
  }
  const app = pods.get(0)!;
  await waitUntil(async () => {
    const states = await Promise.all(ids.map(async (id) => (await (await fetch(`${app.url}/v1/streamers/${id}/presence`)).json()) as PresenceState));
    if (!states.every((s) => s.status === 'online')) return false;
    for (const s of states) initialVersions.set(s.streamerId, s.version);
    return true;
  }, 10_000, 100);
  // Each viewer follows a few streamers spread over all 200.
  for (let i = 0; i < VIEWERS; i += 50) {
    for (let j = i; j < Math.min(VIEWERS, i + 50); j++) {
      viewers.push(connectViewer(j, Array.from({ length: SUBSCRIPTIONS_PER_VIEWER }, (_, k) => ids[(j * 7 + k * 67) % STREAMERS]!)));
    }
    await waitUntil(() => viewers.every((v) => v.ready), 15_000, 20);
  }
  figures.push(`start: ${STREAMERS} streamers and ${VIEWERS} viewers connected through nginx; per pod ${JSON.stringify(await connectionsPerPod())}`);
}, 60_000);

afterAll(() => {
  console.log(`rolling-drain figures:\n  ${figures.join('\n  ')}`);
});

test('SIGTERM one pod: its clients reconnect to the others, viewers see no offline, no client errors, exit 0 in time', async () => {
  const before = await connectionsPerPod();
  await drain(0, 'SIGTERM pod-0');
  const after = await connectionsPerPod();
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
  const perPod = await connectionsPerPod();
  expect(Object.keys(perPod).sort()).toEqual(['pod-4', 'pod-5', 'pod-6']);
  expect(Object.values(perPod).reduce((a, b) => a + b, 0)).toBe(STREAMERS + VIEWERS);
  await expectNothingSeen('after the rolling restart');
  // And the cluster agrees: every streamer still online, at the version it had before any pod stopped.
  const app = pods.get(4)!;
  const changed: string[] = [];
  for (const [id, version] of initialVersions) {
    const state = (await (await fetch(`${app.url}/v1/streamers/${id}/presence`)).json()) as PresenceState;
    if (state.status !== 'online' || state.version !== version) changed.push(`${id}: ${state.status} v${state.version} (was v${version})`);
  }
  expect(changed).toEqual([]);
}, 90_000);
