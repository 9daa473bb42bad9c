// Redis dies (and comes back empty) or hangs: pods stay alive, say so on /readyz, refuse heartbeats with
// `unavailable` meanwhile, and afterwards every streamer that kept its socket is online again, viewers are
// told to resync, events flow, and versions never go back.
import type { Socket } from 'socket.io-client';
import type { PresenceEvent, PresenceState } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { EventRecorder } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import { streamer, watch, type Watcher } from '../helpers/presence-clients.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';
import { sleep, waitUntil } from '../helpers/timing.js';

// Slower than FAST_TIMING on purpose: a freeze of two heartbeat intervals must stay well inside the TTL
// (last good heartbeat up to one interval before the freeze, the next one up to one interval after it),
// so any offline seen here is a bug, not the TTL doing its job.
const HEARTBEAT_MS = 1_500;
const TTL_MS = 7_000;
const TIMING = {
  HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
  PRESENCE_TTL_MS: String(TTL_MS),
  RECONNECT_GRACE_MS: '1000',
  LB_IDLE_TIMEOUT_MS: '4000',
};
const PREFIX = `redis-outage-${process.pid}:`;
/** "Within one heartbeat interval" of Redis coming back, with slack for the reconnect backoff. */
const RECOVERY_WITHIN_MS = HEARTBEAT_MS + 2_000;

useCleanup();
let redis: RedisServer;
let a: AppProcess;
let b: AppProcess;
const pods = (): Array<[string, AppProcess]> => [
  ['A', a],
  ['B', b],
];
beforeAll(async () => {
  redis = await startRedis();
  [a, b] = await Promise.all([0, 1].map(() => startApp({ env: { ...TIMING, REDIS_KEY_PREFIX: PREFIX }, redisUrl: redis.url })));
  await allReady();
}, 60_000);

async function allReady(timeoutMs = 10_000): Promise<void> {
  await Promise.all(pods().map(([, app]) => waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, timeoutMs, 50)));
}

async function readPresence(app: AppProcess, id: string): Promise<PresenceState> {
  const res = await fetch(`${app.url}/v1/streamers/${id}/presence`, { signal: AbortSignal.timeout(2_000) });
  if (res.status !== 200) throw new Error(`GET presence of ${id} on ${app.url}: HTTP ${res.status}`);
  return (await res.json()) as PresenceState;
}

/**
 * A viewer that does what the SDK does: on `resync` it subscribes again, and it keeps, per streamer, the
 * state with the highest version seen in snapshots and events (dropping anything not newer).
 */
interface SyncedViewer extends Watcher {
  readonly pod: string;
  readonly resyncs: EventRecorder<undefined>;
  /** Snapshots received after a resync, in order. */
  readonly resubscribed: PresenceState[][];
  readonly view: Map<string, PresenceState>;
}

async function syncedViewer(pod: string, app: AppProcess, ids: string[]): Promise<SyncedViewer> {
  const watcher = await watch(app.url, ids);
  const view = new Map<string, PresenceState>();
  const merge = (state: PresenceState): void => {
    if (state.version > (view.get(state.streamerId)?.version ?? -1)) view.set(state.streamerId, state);
  };
  watcher.snapshot.forEach(merge);
  watcher.socket.on('presence', merge);
  const resyncs = new EventRecorder<undefined>(watcher.socket, 'resync');
  const resubscribed: PresenceState[][] = [];
  watcher.socket.on('resync', () => {
    void watcher.socket
      .timeout(5_000)
      .emitWithAck('subscribe', { streamerIds: ids })
      .then((ack: { ok: boolean; presence?: PresenceState[] }) => {
        if (ack.ok && ack.presence) {
          ack.presence.forEach(merge);
          resubscribed.push(ack.presence);
        }
      })
      .catch(() => undefined);
  });
  return { ...watcher, pod, resyncs, resubscribed, view };
}

/** Heartbeats every interval with an ack, recording every answer (or the lack of one). */
function beatWithAcks(socket: Socket): { acks: Array<{ at: number; ack: unknown }>; stop: () => void } {
  const acks: Array<{ at: number; ack: unknown }> = [];
  const timer = setInterval(() => {
    const at = Date.now();
    socket
      .timeout(5_000)
      .emitWithAck('heartbeat')
      .then(
        (ack: unknown) => acks.push({ at, ack }),
        (err: Error) => acks.push({ at, ack: { noAck: err.message } }),
      );
  }, HEARTBEAT_MS);
  return { acks, stop: () => clearInterval(timer) };
}

const highestVersion = (viewers: SyncedViewer[], id: string): number =>
  Math.max(0, ...viewers.map((v) => v.view.get(id)?.version ?? 0));
const offlineEventsOf = (viewers: SyncedViewer[], ids: string[]): PresenceEvent[] =>
  viewers.flatMap((v) => v.events.payloads()).filter((e) => ids.includes(e.streamerId) && e.status === 'offline');

test('kill -9 of Redis, restarted empty: streamers back online, resync, events flow, versions keep growing', async () => {
  const [s1, s2, s3] = ['out-kill-1', 'out-kill-2', 'out-kill-3'];
  const ids = [s1, s2, s3];
  const viewers = await Promise.all([syncedViewer('A', a, ids), syncedViewer('B', b, ids)]);
  const onA = await streamer(a.url, s1);
  const onB = await streamer(b.url, s2);
  const beats = [beatWithAcks(onA), beatWithAcks(onB)];
  await waitUntil(() => viewers.every((v) => v.view.get(s1)?.status === 'online' && v.view.get(s2)?.status === 'online'), 5_000);
  // A meta change, so the versions before the outage are not just the first ones.
  expect(await onA.timeout(3_000).emitWithAck('heartbeat', { meta: { set: 'before' } })).toMatchObject({ ok: true });
  await waitUntil(() => viewers.every((v) => v.view.get(s1)?.meta?.set === 'before'), 5_000);
  const before = new Map<string, number>();
  for (const id of [s1, s2]) {
    const reads = await Promise.all(pods().map(([, app]) => readPresence(app, id)));
    before.set(id, Math.max(highestVersion(viewers, id), ...reads.map((r) => r.version)));
  }

  await redis.kill9();
  await sleep(500);
  await redis.restart();
  const restartedAt = Date.now();

  // Every still-connected streamer is online again in the (empty) Redis, read from either pod.
  await waitUntil(async () => {
    for (const [, app] of pods()) {
      for (const id of [s1, s2]) if ((await readPresence(app, id)).status !== 'online') return false;
    }
    return true;
  }, RECOVERY_WITHIN_MS);
  const keys = (await redis.cli('KEYS', '*')).split('\n').filter((k) => k !== '');
  expect(keys.length).toBeGreaterThan(0);
  expect(keys.filter((k) => !k.startsWith(PREFIX))).toEqual([]);
  for (const id of [s1, s2]) expect(keys.some((k) => k.includes(id))).toBe(true);
  for (const [, app] of pods()) {
    for (const id of [s1, s2]) expect((await readPresence(app, id)).version).toBeGreaterThan(before.get(id)!);
  }

  // Both pods tell their viewers to resync; the viewers subscribe again and see everyone online.
  await Promise.all(viewers.map((v) => v.resyncs.waitFor(() => true, 10_000)));
  for (const viewer of viewers) expect(viewer.resyncs.all()[0]!.at).toBeGreaterThanOrEqual(restartedAt - 500);
  await waitUntil(() => viewers.every((v) => v.resubscribed.length > 0), 5_000);
  await waitUntil(
    () =>
      viewers.every((v) =>
        [s1, s2].every((id) => v.view.get(id)?.status === 'online' && v.view.get(id)!.version > before.get(id)!),
      ),
    RECOVERY_WITHIN_MS,
  );

  // Events flow across pods again: a new streamer on A reaches the viewer on B, exactly once.
  const fromIndex = viewers.map((v) => v.events.count);
  await streamer(a.url, s3);
  await Promise.all(
    viewers.map((v, i) => v.events.waitFor((e) => e.streamerId === s3 && e.reason === 'connected', 3_000, fromIndex[i])),
  );
  // And a change to a streamer from before the outage carries a version above all it had before.
  expect(await onA.timeout(3_000).emitWithAck('heartbeat', { meta: { set: 'after' } })).toMatchObject({ ok: true });
  const metaAfter = await Promise.all(
    viewers.map((v, i) => v.events.waitFor((e) => e.streamerId === s1 && e.meta?.set === 'after', 3_000, fromIndex[i])),
  );
  for (const event of metaAfter) expect(event.payload.version).toBeGreaterThan(before.get(s1)!);
  await sleep(500);
  for (const [i, viewer] of viewers.entries()) {
    const s3Events = viewer.events.payloads().slice(fromIndex[i]).filter((e) => e.streamerId === s3);
    expect(s3Events.map((e) => e.reason)).toEqual(['connected']);
  }

  // The streamers kept their sockets throughout: no viewer ever saw them offline.
  expect(offlineEventsOf(viewers, [s1, s2])).toEqual([]);
  for (const beat of beats) beat.stop();
}, 45_000);

// Found by the soak (RELIABILITY.md, finding 3): a stream that ends, or a socket that closes, while Redis
// is down and before it comes back empty left no trace anywhere: the pod's call failed, the restart took
// the lease, and viewers held the streamer online for good (their resync snapshot, version 0, is older
// than what they hold). The pod replays what the store could not take, and a store that has no record of
// a closing streamer takes it for one it lost while live.
test('an `end` and a close while Redis is down, then Redis back empty: every viewer sees both offline', async () => {
  await allReady();
  const [ended, closed] = ['out-lost-end', 'out-lost-close'];
  const ids = [ended, closed];
  const viewers = await Promise.all([syncedViewer('A', a, ids), syncedViewer('B', b, ids)]);
  const onA = await streamer(a.url, ended);
  const onB = await streamer(b.url, closed);
  await waitUntil(() => viewers.every((v) => ids.every((id) => v.view.get(id)?.status === 'online')), 5_000);
  const before = new Map(ids.map((id) => [id, highestVersion(viewers, id)]));

  await redis.kill9();
  const endAck = (await onA.timeout(8_000).emitWithAck('end', {})) as { ok: boolean; error?: { code: string } };
  expect(endAck).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  onB.disconnect();
  await sleep(300);
  await redis.restart();

  // Within the recovery, plus the grace for the close: both offline, with versions above what viewers held.
  await waitUntil(() => viewers.every((v) => ids.every((id) => v.view.get(id)?.status === 'offline')), RECOVERY_WITHIN_MS + 1_000 + 2_000);
  for (const viewer of viewers) {
    for (const id of ids) expect(viewer.view.get(id)!.version).toBeGreaterThan(before.get(id)!);
  }
  expect(viewers.flatMap((v) => v.events.payloads()).filter((e) => e.streamerId === ended && e.status === 'offline').map((e) => e.reason)).toContain('ended');
  expect(viewers.flatMap((v) => v.events.payloads()).filter((e) => e.streamerId === closed && e.status === 'offline').map((e) => e.reason)).toContain('disconnected');
  for (const [, app] of pods()) for (const id of ids) expect((await readPresence(app, id)).status).toBe('offline');
  onA.disconnect();
}, 45_000);

// Found by the third hour's soak (RELIABILITY.md, finding 13): an `end` the store could not take is kept
// by its pod and sent again after the outage. The streamer had meanwhile begun a new stream on another
// pod, which cannot cancel it; the replay ended that new stream (a false offline to every viewer).
test('an `end` sent again after an outage does not end the stream the streamer began since on another pod', async () => {
  await allReady();
  const id = 'out-stale-end';
  const viewerOnB = await syncedViewer('B', b, [id]);
  const first = await streamer(a.url, id);
  await waitUntil(() => viewerOnB.view.get(id)?.status === 'online', 5_000);

  await redis.kill9();
  const endSentAt = Date.now();
  const endAck = (await first.timeout(8_000).emitWithAck('end', {})) as { ok: boolean; error?: { code: string } };
  expect(endAck).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  first.disconnect();
  // Pod A is held still while Redis comes back and the streamer goes live on B: its replay comes after.
  process.kill(a.pid, 'SIGSTOP');
  try {
    await redis.restart();
    await waitUntil(async () => (await fetch(`${b.url}/readyz`)).status === 200, 10_000, 50);
    const second = await streamer(b.url, id);
    const beats = beatWithAcks(second);
    await waitUntil(() => viewerOnB.view.get(id)?.status === 'online' && viewerOnB.view.get(id)!.since > endSentAt, 5_000);
    const live = viewerOnB.view.get(id)!;
    process.kill(a.pid, 'SIGCONT');
    // A recovers, re-asserts nothing of this streamer, and sends the `end` again.
    await waitUntil(async () => (await fetch(`${a.url}/readyz`)).status === 200, 10_000, 50);
    await sleep(RECOVERY_WITHIN_MS);
    expect(viewerOnB.view.get(id)).toMatchObject({ status: 'online', since: live.since });
    for (const [, app] of pods()) expect(await readPresence(app, id)).toMatchObject({ status: 'online', since: live.since });
    beats.stop();
    second.disconnect();
  } finally {
    process.kill(a.pid, 'SIGCONT');
  }
}, 45_000);

// A streamer whose app hangs (socket open, no heartbeat) is offline at its last heartbeat + TTL. The pods
// re-assert their connections after Redis comes back; with a fresh TTL they kept a silent one online up
// to a TTL past that deadline (a ghost, 110 s with the defaults). The re-assert keeps the deadline it had.
test('a silent streamer through a Redis restart: offline at its last heartbeat + TTL, not a TTL after the recovery', async () => {
  await allReady();
  const id = 'out-silent';
  const viewers = await Promise.all([syncedViewer('A', a, [id]), syncedViewer('B', b, [id])]);
  const silent = await streamer(a.url, id);
  await waitUntil(() => viewers.every((v) => v.view.get(id)?.status === 'online'), 5_000);
  // Connecting is its first and last heartbeat: online since then, on Redis's clock.
  const lastBeatAt = viewers[0]!.view.get(id)!.since;

  // Well inside its TTL (7 s), so the re-assert comes before its deadline even on a slow recovery.
  await sleep(1_000);
  await redis.kill9();
  await sleep(300);
  await redis.restart();
  await allReady(RECOVERY_WITHIN_MS);
  // Re-asserted: online again in the empty Redis, for what is left of its TTL.
  await waitUntil(async () => (await readPresence(a, id)).status === 'online', RECOVERY_WITHIN_MS, 50);

  const deadline = lastBeatAt + TTL_MS;
  await waitUntil(() => viewers.every((v) => v.view.get(id)?.status === 'offline'), deadline + 2_500 - Date.now(), 50).catch(() => {
    throw new Error(`still online ${Date.now() - deadline} ms after its deadline: ${JSON.stringify(viewers.map((v) => v.view.get(id)))}`);
  });
  // One offline (each viewer may hear it twice: the replay after an outage repeats versions).
  expect([...new Set(offlineEventsOf(viewers, [id]).map((e) => `${e.version} ${e.reason}`))]).toEqual([`${viewers[0]!.view.get(id)!.version} timeout`]);
  for (const state of viewers.map((v) => v.view.get(id)!)) {
    // Not before the deadline (the pod measures it from when Redis answered the connect: a little later).
    expect(state.since).toBeGreaterThanOrEqual(deadline);
    expect(state.since).toBeLessThanOrEqual(deadline + 1_000);
  }
  silent.disconnect();
}, 45_000);

test('Redis frozen for two heartbeat intervals: pods live, unready meanwhile, heartbeats unavailable, state intact', async () => {
  await allReady();
  const [s4, s5, s6] = ['out-freeze-4', 'out-freeze-5', 'out-freeze-6'];
  const ids = [s4, s5, s6];
  const viewers = await Promise.all([syncedViewer('A', a, ids), syncedViewer('B', b, ids)]);
  const onA = await streamer(a.url, s4);
  const onB = await streamer(b.url, s5);
  const beats = [beatWithAcks(onA), beatWithAcks(onB)];
  await waitUntil(() => viewers.every((v) => v.view.get(s4)?.status === 'online' && v.view.get(s5)?.status === 'online'), 5_000);

  // Poll liveness and readiness of both pods all through the freeze and the recovery.
  const polls: Array<{ pod: string; path: string; at: number; status: number | string }> = [];
  let polling = true;
  const pollers = pods().flatMap(([pod, app]) =>
    ['/healthz', '/readyz'].map(async (path) => {
      while (polling) {
        const at = Date.now();
        const status = await fetch(`${app.url}${path}`, { signal: AbortSignal.timeout(1_000) }).then(
          (res) => res.status,
          (err: Error) => `no answer (${err.name})`,
        );
        polls.push({ pod, path, at, status });
        await sleep(100);
      }
    }),
  );

  const beforeFreeze = viewers.map((v) => v.events.count);
  const frozenAt = Date.now();
  redis.freeze();
  await sleep(200);
  const duringFreeze = await onA.timeout(5_000).emitWithAck('heartbeat');
  await sleep(frozenAt + 2 * HEARTBEAT_MS - Date.now());
  const thawedAt = Date.now();
  redis.thaw();

  await allReady(5_000);
  await sleep(500);
  polling = false;
  await Promise.all(pollers);

  // The contract's code for "the presence store cannot be reached".
  expect(duringFreeze).toMatchObject({ ok: false, error: { code: 'unavailable' } });
  // No crash: both processes still here, and liveness never failed.
  for (const [, app] of pods()) expect(() => process.kill(app.pid, 0)).not.toThrow();
  expect(polls.filter((p) => p.path === '/healthz' && p.status !== 200)).toEqual([]);
  // Unready during the freeze (each pod), ready again after it.
  for (const [pod] of pods()) {
    const during = polls.filter((p) => p.pod === pod && p.path === '/readyz' && p.at >= frozenAt && p.at < thawedAt);
    expect({ pod, sawUnready: during.some((p) => p.status === 503) }).toEqual({ pod, sawUnready: true });
  }
  for (const [, app] of pods()) expect((await fetch(`${app.url}/readyz`)).status).toBe(200);

  // State after: the streamers that kept their sockets are online on every pod, and heartbeats succeed.
  for (const socket of [onA, onB]) {
    await waitUntil(async () => ((await socket.timeout(2_000).emitWithAck('heartbeat')) as { ok: boolean }).ok, RECOVERY_WITHIN_MS, 200);
  }
  for (const [, app] of pods()) {
    for (const id of [s4, s5]) expect(await readPresence(app, id)).toMatchObject({ status: 'online' });
  }
  await waitUntil(() => viewers.every((v) => v.view.get(s4)?.status === 'online' && v.view.get(s5)?.status === 'online'), 5_000);

  // Events flow across pods after the thaw: a new streamer on B reaches the viewer on A, exactly once.
  const fromIndex = viewers.map((v) => v.events.count);
  await streamer(b.url, s6);
  await Promise.all(
    viewers.map((v, i) => v.events.waitFor((e) => e.streamerId === s6 && e.reason === 'connected', 3_000, fromIndex[i])),
  );
  await sleep(500);
  for (const [i, viewer] of viewers.entries()) {
    const s6Events = viewer.events.payloads().slice(fromIndex[i]).filter((e) => e.streamerId === s6);
    expect(s6Events.map((e) => e.reason)).toEqual(['connected']);
  }
  expect(offlineEventsOf(viewers, [s4, s5])).toEqual([]);
  // Redis only stalled, and no connection closed: the viewers missed nothing, so they are neither asked
  // to resync (each would take its snapshot again) nor sent the seconds before the freeze once more
  // (RELIABILITY, finding 23). s4 and s5 came online within those seconds.
  for (const [i, viewer] of viewers.entries()) {
    const repeated = viewer.events.payloads().slice(beforeFreeze[i]).filter((e) => e.streamerId === s4 || e.streamerId === s5);
    expect({ pod: viewer.pod, resyncs: viewer.resyncs.count, repeated: repeated.map((e) => `${e.streamerId} ${e.reason}`) }).toEqual({ pod: viewer.pod, resyncs: 0, repeated: [] });
  }
  for (const beat of beats) beat.stop();
}, 45_000);

// A streamer whose only connection died with a pod (SIGKILL: no close reached Redis), and Redis restarted
// empty before its TTL ran out: the lease was gone, so nothing would ever log its offline, and viewers and
// the webhook receiver held it online for good. Pods remember who was online (redis/lost-streamers.ts)
// and, a TTL after finding Redis emptied, settle those nothing claimed.
test('a pod SIGKILLed and Redis restarted empty in the same second: its streamer that never came back goes offline for viewers and webhooks', async () => {
  await allReady();
  const receiver = await startWebhookReceiver();
  const env = { ...TIMING, REDIS_KEY_PREFIX: `redis-lost-pod-${process.pid}:`, WEBHOOK_URL: receiver.url, WEBHOOK_SECRET: receiver.secret };
  const [kept, killed] = await Promise.all(['kept', 'killed'].map((name) => startApp({ env: { ...env, POD_NAME: name }, redisUrl: redis.url })));
  for (const app of [kept!, killed!]) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  const [gone, staying] = ['lost-with-pod', 'stays-on-kept'];
  const viewer = await syncedViewer('kept', kept!, [gone, staying]);
  const onKilled = await streamer(killed!.url, gone);
  const onKept = await streamer(kept!.url, staying);
  const beats = [beatWithAcks(onKept)];
  onKilled.io.reconnection(false);
  await waitUntil(() => [gone, staying].every((id) => viewer.view.get(id)?.status === 'online'), 5_000);
  await waitUntil(() => receiver.acknowledged().some((d) => d.body?.data.streamerId === gone && d.body.type === 'presence.online'), 10_000);
  const before = viewer.view.get(gone)!.version;
  // Pods read who is online from the log every half second (lost-streamers.ts).
  await sleep(1_000);

  await killed!.kill9();
  await redis.kill9();
  await sleep(300);
  await redis.restart();
  const restartedAt = Date.now();

  // Offline within the TTL, a second, and the recovery; the streamer on the pod left is never offline.
  await waitUntil(() => viewer.view.get(gone)?.status === 'offline', RECOVERY_WITHIN_MS + TTL_MS + 1_000 + 2_000).catch((error: unknown) => {
    throw new Error(`${String(error)}; the pod left said: ${kept!.lines.filter((line) => /lost|settled|recovered/.test(line)).join(' | ')}`);
  });
  expect(viewer.view.get(gone)!.version).toBeGreaterThan(before);
  expect(Date.now() - restartedAt).toBeGreaterThanOrEqual(TTL_MS - 1_000);
  await waitUntil(() => receiver.acknowledged().some((d) => d.body?.data.streamerId === gone && d.body.type === 'presence.offline'), 10_000);
  expect(offlineEventsOf([viewer], [staying])).toEqual([]);
  expect(viewer.view.get(staying)?.status).toBe('online');
  for (const beat of beats) beat.stop();
  onKept.disconnect();
  await kept!.stop();
}, 60_000);
