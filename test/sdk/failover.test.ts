// The SDK "through a reconnect to another pod": Redis mode, real pods on one redis-server. Clients get
// the pods' URLs as a list and move on to the next one when theirs goes away.
import type { PresenceState } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING } from '../helpers/presence-clients.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/timing.js';
import { closeClients, record, streamerClient, viewerClient } from './sdk-helpers.js';

useCleanup();
afterEach(closeClients);
let redis: RedisServer;
let stable: AppProcess;
// Twice the usual scaled-down TTL and grace: a client whose pod is SIGKILLed must get to another pod
// before its last lease runs out, on a machine whose two cores may both be busy.
const TTL_MS = 2 * Number(FAST_TIMING.PRESENCE_TTL_MS);
const GRACE_MS = 2 * Number(FAST_TIMING.RECONNECT_GRACE_MS);
const env = {
  ...FAST_TIMING,
  PRESENCE_TTL_MS: String(TTL_MS),
  RECONNECT_GRACE_MS: String(GRACE_MS),
  REDIS_KEY_PREFIX: `sdk-failover-${process.pid}:`,
  DRAIN_MS: '200',
};

/** A pod of the cluster, ready for traffic. */
async function pod(): Promise<AppProcess> {
  const app = await startApp({ env, redisUrl: redis.url });
  await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  return app;
}

beforeAll(async () => {
  redis = await startRedis();
  stable = await pod();
}, 60_000);

const isStatus = (id: string, status: PresenceState['status']) => (state: PresenceState) => state.streamerId === id && state.status === status;

test("the viewer's pod is killed: the ViewerClient reconnects to another pod, and emits only what changed while it was away", async () => {
  const doomed = await pod();
  const stays = streamerClient('fo-stays', { url: stable.url });
  const leaves = streamerClient('fo-leaves', { url: stable.url });
  // The retry waits ~1.5 s (random 0.99 of 1500 ms): the end below happens while the viewer is away.
  const viewer = viewerClient({ urls: [doomed.url, stable.url], backoff: { initialMs: 1_500, maxMs: 1_500 }, random: () => 0.99 });
  await viewer.watch(['fo-stays', 'fo-leaves']);
  await waitUntil(() => viewer.get('fo-stays')?.status === 'online' && viewer.get('fo-leaves')?.status === 'online');
  const before = viewer.snapshot();
  const changes = record(viewer, 'change');
  const onlines = record(viewer, 'online');
  const offlines = record(viewer, 'offline');
  const synced = record(viewer, 'synced');
  const states = record(viewer, 'state');

  await doomed.kill9();
  await states.waitFor((state) => state === 'reconnecting');
  await leaves.end();
  await synced.waitFor(() => true, 10_000);
  expect(viewer.state).toBe('online');
  expect(viewer.url).toBe(stable.url);

  // Exactly one change: the streamer that ended while the viewer was away, emitted once as offline.
  expect(changes.all().map((c) => [c.args[0].streamerId, c.args[0].status, c.args[1]?.status, c.args[2]])).toEqual([
    ['fo-leaves', 'offline', 'online', undefined],
  ]);
  expect(offlines.firsts()).toEqual([viewer.get('fo-leaves')]);
  expect(onlines.count).toBe(0);
  expect(viewer.get('fo-stays')).toEqual(before.get('fo-stays'));
  expect(viewer.get('fo-leaves')!.version).toBeGreaterThan(before.get('fo-leaves')!.version);

  // The streamer that stayed keeps heartbeating: nothing more, and the viewer follows live events again.
  await changes.expectNoneFor(2 * TTL_MS);
  stays.close();
  await offlines.waitFor(isStatus('fo-stays', 'offline'), GRACE_MS + 3_000);
  expect(changes.count).toBe(2);
}, 30_000);

test.each([
  ['drains (SIGTERM)', (app: AppProcess) => app.stop('SIGTERM')],
  ['crashes (SIGKILL)', (app: AppProcess) => app.kill9()],
])("the streamer's pod %s: the StreamerClient reconnects to another pod within the grace, and viewers see nothing", async (_how, stop) => {
  const id = `fo-streamer-${_how.split(' ')[0]}`;
  const doomed = await pod();
  const viewer = viewerClient({ url: stable.url });
  const changes = record(viewer, 'change');
  await viewer.watch([id]);
  const streamer = streamerClient(id, { urls: [doomed.url, stable.url], backoff: { initialMs: 200, maxMs: 1_000 } });
  const states = record(streamer, 'state');
  const errors = record(streamer, 'error');
  await changes.waitFor(isStatus(id, 'online'));
  // The store admits the connection during the handshake, so viewers may see it online a moment
  // before the client has its `session`: wait for both, on the doomed pod.
  await states.waitFor((state) => state === 'online', 5_000);
  const seen = changes.count;
  expect({ states: states.firsts(), url: streamer.url, errors: errors.firsts().map(String) }).toEqual({ states: ['online'], url: doomed.url, errors: [] });

  await stop(doomed);
  await states.waitFor((state) => state === 'reconnecting', 5_000);
  await states.waitFor((state) => state === 'online', 5_000, 2);
  expect(streamer.url).toBe(stable.url);
  expect(states.firsts()).toEqual(['online', 'reconnecting', 'online']);
  // Past the old connection's grace (closed socket) or TTL (dead pod), and two TTLs of the new one.
  await changes.expectNoneFor(GRACE_MS + 2 * TTL_MS);
  expect(changes.count).toBe(seen);
  expect(viewer.get(id)!.status).toBe('online');
}, 30_000);

// Last in the file: it restarts the shared Redis.
test('Redis restarts empty: the pod says resync, and the ViewerClient resubscribes on the same connection; nobody goes offline', async () => {
  const viewer = viewerClient({ url: stable.url });
  await viewer.watch(['fo-resync']);
  const streamer = streamerClient('fo-resync', { url: stable.url });
  await waitUntil(() => viewer.get('fo-resync')?.status === 'online');
  const before = viewer.get('fo-resync')!;
  const synced = record(viewer, 'synced');
  const viewerStates = record(viewer, 'state');
  const streamerStates = record(streamer, 'state');
  const offlines = record(viewer, 'offline');
  const onlines = record(viewer, 'online');

  await redis.kill9();
  await redis.restart();
  await synced.waitFor(() => true, 15_000);
  // The pod re-asserted the streamer in the empty Redis: a newer version, still online.
  await waitUntil(() => viewer.get('fo-resync')!.version > before.version, 5_000);
  expect(viewer.get('fo-resync')!.status).toBe('online');
  expect(viewerStates.count).toBe(0);
  expect(streamerStates.count).toBe(0);
  await offlines.expectNoneFor(TTL_MS);
  expect(onlines.count).toBe(0);
}, 40_000);
