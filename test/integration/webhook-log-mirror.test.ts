// The webhook log copy (webhook-log-mirror.ts) on a real redis-server, with the real Redis transition
// log; its in-process neighbours (the pod directory, the dispatcher, the config) are plain objects.
// Found by the soak (RELIABILITY.md, finding 10): Redis restarted empty while the receiver was down,
// and transitions went on being appended before the pod's recovery ran. The copy was pruned by the
// group's positions in the new log (past every copied entry), so nothing was there to append again.
// And finding 9: an entry appended just before Redis lost its data, read by no copy and by no live
// dispatcher, was lost; the pod whose call appended it now appends it again. And finding 14: when that
// pod never learnt the entry's id (the reply was lost with Redis, or it died), the pod whose viewer
// relay took the entry appends it again.
import { Redis } from 'ioredis';
import type { AppConfig } from '../../src/config/app-config.js';
import type { PodDirectory } from '../../src/presence/application/pod-directory.js';
import { RecoverySteps } from '../../src/presence/application/recovery-steps.js';
import type { LogEntry } from '../../src/presence/domain/transition-log.js';
import { RecentAppends } from '../../src/presence/infrastructure/redis/recent-appends.js';
import { RedisKeys } from '../../src/presence/infrastructure/redis/redis-keys.js';
import { RedisPresenceStore } from '../../src/presence/infrastructure/redis/redis-presence.store.js';
import { RedisTransitionLog } from '../../src/presence/infrastructure/redis/redis-transition-log.js';
import type { WebhookDispatcher } from '../../src/webhooks/webhook-dispatcher.js';
import { WEBHOOKS_GROUP } from '../../src/webhooks/webhook-dispatcher.js';
import { VIEWERS_GROUP } from '../../src/presence/application/viewer-relay.js';
import { ViewersDelivered } from '../../src/webhooks/viewers-delivered.js';
import { WebhookLogMirror } from '../../src/webhooks/webhook-log-mirror.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';

useCleanup();

const SHARDS = 4;
const RETENTION_MS = 3_600_000;

/** An entry as the presence scripts append it (restore writes the same fields). */
function entry(shard: number, streamerId: string, version: number, at: number): LogEntry {
  return { shard, id: `${at}-0`, event: { streamerId, status: 'online', since: at, version, reason: 'connected' }, at, pod: 'gone-pod' };
}

/** A real redis-server, a client that reconnects quickly, and the transition log under `prefix`. */
async function redisWithLog(
  prefix: string,
  taken: RecentAppends | null = null,
): Promise<{ server: Awaited<ReturnType<typeof startRedis>>; redis: Redis; keys: RedisKeys; log: RedisTransitionLog }> {
  const server = await startRedis();
  const redis = new Redis(server.url, { commandTimeout: 2_000, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: () => 50, lazyConnect: true });
  await redis.connect();
  const keys = new RedisKeys(`${prefix}-${process.pid}:`, SHARDS);
  return { server, redis, keys, log: new RedisTransitionLog(redis, redis, keys, RETENTION_MS, taken) };
}

/** What the log holds, an entry a line: `<streamer> <version> <reason> <pod that decided it>`. */
async function described(log: RedisTransitionLog): Promise<string[]> {
  return (await log.readAfter(Array(SHARDS).fill(null), 1_000)).shards.flat().map((e) => `${e.event.streamerId} ${e.event.version} ${e.event.reason} ${e.pod}`);
}

/** The copy of a pod that keeps the log, whose dispatcher holds what `held` gives at each restore. */
function keeperMirror(log: RedisTransitionLog, held: () => LogEntry[], viewersDelivered = new ViewersDelivered()): WebhookLogMirror {
  return new WebhookLogMirror(
    log,
    new RecoverySteps(),
    { keepsLog: () => true } as unknown as PodDirectory,
    { heldEntries: held } as unknown as WebhookDispatcher,
    { podId: 'mirror-pod', eventLogRetentionMs: RETENTION_MS } as AppConfig,
    () => [],
    viewersDelivered,
  );
}

/** The copy of a pod that keeps none of the log and whose dispatcher holds nothing: its restore has only `recent`. */
function mirrorOfRecent(log: RedisTransitionLog, podId: string, recent: RecentAppends): WebhookLogMirror {
  return new WebhookLogMirror(
    log,
    new RecoverySteps(),
    { keepsLog: () => false } as unknown as PodDirectory,
    { heldEntries: () => [] } as unknown as WebhookDispatcher,
    { podId, eventLogRetentionMs: RETENTION_MS } as AppConfig,
    () => recent.entries(),
    new ViewersDelivered(),
  );
}

test('Redis restarted empty, transitions appended before the recovery ran: the copy is kept, and appended again', async () => {
  const { server, redis, log } = await redisWithLog('mirror');
  const logged = async (): Promise<string[]> => (await log.readAfter(Array(SHARDS).fill(null), 1_000)).shards.flat().map((e) => `${e.event.streamerId}:${e.event.version}`);
  const named = (entries: LogEntry[]): string[] => entries.map((e) => `${e.event.streamerId}:${e.event.version}`);

  // Twelve transitions, taken by a dispatcher that then died: pending in the group, held by no pod.
  const now = Date.now();
  const before = Array.from({ length: 12 }, (_, i) => entry(i % SHARDS, `held-${i}`, now - 5_000 + i, now - 5_000 + i));
  await log.restore(before);
  const taken = await log.takeNew(WEBHOOKS_GROUP, 'dead-dispatcher', [0, 1, 2, 3], 100, 10);
  expect(taken).toHaveLength(12);

  let dispatcherHolds: LogEntry[] = [];
  const mirror = keeperMirror(log, () => dispatcherHolds);
  mirror.onApplicationBootstrap();
  try {
    await waitUntil(() => mirror.copied === 12, 5_000, 20);
    // What the receiver acknowledged leaves the copy (shard 0's three), while the log is whole.
    await log.ack(WEBHOOKS_GROUP, taken.filter((e) => e.shard === 0));
    await waitUntil(() => mirror.copied === 9, 5_000, 20);
    const unacknowledged = before.filter((e) => e.shard !== 0);

    await server.kill9();
    await server.restart();
    await waitUntil(async () => (await redis.ping().catch(() => '')) === 'PONG', 10_000, 50);
    // New transitions on every shard, taken (pending) by a live dispatcher, before this pod recovers.
    const after = Array.from({ length: SHARDS }, (_, shard) => entry(shard, `fresh-${shard}`, Date.now() + shard, Date.now() + shard));
    await log.restore(after);
    expect(await log.takeNew(WEBHOOKS_GROUP, 'live-dispatcher', [0, 1, 2, 3], 100, 10)).toHaveLength(SHARDS);
    await waitUntil(() => mirror.copied === 9 + SHARDS, 5_000, 20);
    // The acknowledged positions are read every second: two chances to prune.
    await sleep(2_500);
    // One entry only this pod's dispatcher holds (read just before the loss; not yet in the copy).
    const late = entry(1, 'late-1', Date.now() - 100, Date.now() - 100);
    dispatcherHolds = [late];
    await mirror.restoreLost();

    // Each once: the unacknowledged ones and the dispatcher's appended again, the fresh ones as they were.
    expect((await logged()).sort()).toEqual(named([...unacknowledged, ...after, late]).sort());
    // The copy is read again from the log, the entries appended again included.
    await waitUntil(() => mirror.copied === unacknowledged.length + SHARDS + 1, 5_000, 20);
  } finally {
    await mirror.onApplicationShutdown();
    redis.disconnect();
  }
}, 30_000);

test('restored after a loss, a copy the viewer relays had delivered is marked so (they do not send it again); one they had not, and what the dispatcher holds, are not', async () => {
  const { server, redis, log } = await redisWithLog('mirror-viewers');
  // Eight transitions, two per shard. The viewer relays took them all and acknowledged shards 0 and 1
  // (delivered); shards 2 and 3 are still in flight (taken, not yet sent).
  const now = Date.now();
  const before = Array.from({ length: 8 }, (_, i) => entry(i % SHARDS, `s-${i}`, now - 5_000 + i, now - 5_000 + i));
  await log.restore(before);
  const taken = await log.takeNew(VIEWERS_GROUP, 'viewer-relay', [0, 1, 2, 3], 100, 10);
  expect(taken).toHaveLength(8);
  await log.ack(VIEWERS_GROUP, taken.filter((e) => e.shard < 2));
  const acknowledgedAt = Date.now();

  let dispatcherHolds: LogEntry[] = [];
  // Shared with the pod's dispatcher, which restores what it held when it loses a shard.
  const viewersDelivered = new ViewersDelivered();
  const mirror = keeperMirror(log, () => dispatcherHolds, viewersDelivered);
  mirror.onApplicationBootstrap();
  try {
    await waitUntil(() => mirror.copied === 8, 5_000, 20);
    // The viewers' positions are read every second, before the tail.
    await sleep(1_500);
    const lostAt = Date.now();
    await server.kill9();
    await server.restart();
    await waitUntil(async () => (await redis.ping().catch(() => '')) === 'PONG', 10_000, 50);
    // Older than what the viewers had delivered on shard 0, but only the dispatcher's: no copy says
    // viewers had it. And the dispatcher's own object for s-0 (retrying its webhook): marked, as the copy.
    const heldOnly = entry(0, 'held-by-dispatcher', now - 6_000, now - 6_000);
    const heldS0 = { ...taken.find((e) => e.event.streamerId === 's-0')! };
    expect(viewersDelivered.at(heldOnly)).toBeUndefined();
    expect(viewersDelivered.at(heldS0)).toBeGreaterThanOrEqual(acknowledgedAt);
    expect(viewersDelivered.at(heldS0)).toBeLessThanOrEqual(lostAt);
    dispatcherHolds = [heldOnly, heldS0];
    await mirror.restoreLost();

    const restored = (await log.readAfter(Array(SHARDS).fill(null), 1_000)).shards.flat();
    // Marked with when the relays were known to have delivered it: before the loss.
    for (const e of restored) if (e.viewersHad !== undefined) expect(e.viewersHad).toBeLessThanOrEqual(lostAt);
    expect(restored.map((e) => `${e.event.streamerId} ${e.viewersHad !== undefined ? 'viewers had it' : 'to viewers'}`).sort()).toEqual([
      'held-by-dispatcher to viewers',
      's-0 viewers had it',
      's-1 viewers had it',
      's-2 to viewers',
      's-3 to viewers',
      's-4 viewers had it',
      's-5 viewers had it',
      's-6 to viewers',
      's-7 to viewers',
    ]);
  } finally {
    await mirror.onApplicationShutdown();
    redis.disconnect();
  }
}, 30_000);

test('entries appended just before Redis lost its data, in no copy and held by no dispatcher: the pod that appended them appends them again', async () => {
  const { server, redis, keys, log } = await redisWithLog('recent');
  // Kept for a second of the store answering: the outage below lasts longer.
  const recent = new RecentAppends(1_000);
  const store = new RedisPresenceStore(redis, keys, { presenceTtlMs: 10_000, reconnectGraceMs: 1_000 }, 'appending-pod', RETENTION_MS, () => {}, null, null, recent);
  const logged = (): Promise<string[]> => described(log);
  // The keepers are other pods that have not read the log since (it is not copied here), and the shards'
  // dispatchers died with the pod that held them: nothing but this pod's own note has these entries.
  const mirror = mirrorOfRecent(log, 'appending-pod', recent);
  try {
    // A stream that begins and ends, one that begins with a title, one that begins: four transitions.
    await store.connect('late-ended', 'c1');
    await store.end('late-ended');
    await store.connect('late-live', 'c2');
    await store.heartbeat('late-meta', 'c3', { title: 'late' });
    const appended = await logged();
    expect(appended).toHaveLength(4);

    // Redis still has them, under the ids the scripts answered: nothing is appended twice, and no
    // entry is checked one by one (a recovery from a mere stall costs one read per shard).
    const scriptCalls = async (): Promise<number> =>
      [...String(await redis.info('commandstats')).matchAll(/^cmdstat_eval(?:sha)?:calls=(\d+)/gm)].reduce((sum, [, calls]) => sum + Number(calls), 0);
    const scriptsBefore = await scriptCalls();
    await mirror.restoreLost();
    expect(await scriptCalls()).toBe(scriptsBefore);
    expect(await logged()).toEqual(appended);

    await server.kill9();
    // Down for longer than the copy is kept while the store answers; a heartbeat meanwhile fails.
    await expect(store.heartbeat('late-live', 'c2')).rejects.toThrow(/redis presence store/);
    await sleep(1_500);
    await server.restart();
    await waitUntil(async () => (await redis.ping().catch(() => '')) === 'PONG', 10_000, 50);
    expect(await logged()).toEqual([]);
    await mirror.restoreLost();
    // Each once, as it was decided (version, reason, pod), the meta too; a second restore adds nothing.
    expect((await logged()).sort()).toEqual([...appended].sort());
    const meta = (await log.readAfter(Array(SHARDS).fill(null), 1_000)).shards.flat().find((e) => e.event.streamerId === 'late-meta')!;
    expect(meta.event).toMatchObject({ status: 'online', reason: 'connected', meta: { title: 'late' } });
    await mirror.restoreLost();
    expect(await logged()).toHaveLength(4);
  } finally {
    await mirror.onApplicationShutdown();
    redis.disconnect();
  }
}, 30_000);

test('an entry another pod appended and never learnt the id of, taken by this pod\'s viewer relay just before Redis lost its data: this pod appends it again', async () => {
  // This pod's log tells its copy of what its viewer relay takes; the pod that appended keeps nothing
  // (its reply was lost with Redis, or it died right after).
  const recent = new RecentAppends(5_000);
  const { server, redis, keys, log } = await redisWithLog('relayed', recent);
  const appending = new RedisPresenceStore(redis, keys, { presenceTtlMs: 10_000, reconnectGraceMs: 1_000 }, 'other-pod', RETENTION_MS);
  const logged = (): Promise<string[]> => described(log);
  const mirror = mirrorOfRecent(log, 'relaying-pod', recent);
  try {
    await appending.connect('relayed-live', 'c1');
    await appending.connect('relayed-ended', 'c2');
    await appending.end('relayed-ended');
    const appended = await logged();
    expect(appended).toHaveLength(3);
    // The viewer relay takes them (for the viewers, who get them), as it does within milliseconds.
    expect(await log.takeNew(VIEWERS_GROUP, 'relaying-pod', [0, 1, 2, 3], 100, 10)).toHaveLength(3);

    await server.kill9();
    await server.restart();
    await waitUntil(async () => (await redis.ping().catch(() => '')) === 'PONG', 10_000, 50);
    expect(await logged()).toEqual([]);
    // Before this pod's recovery runs, its relay already takes new transitions, on every shard: the
    // newest entry it holds is in the new log, yet the older ones are not.
    const fresh = Array.from({ length: 40 }, (_, i) => `fresh-${i}`);
    expect(new Set(fresh.map((id) => keys.shardOf(id))).size).toBe(SHARDS);
    for (const id of fresh) await appending.connect(id, `c-${id}`);
    expect(await log.takeNew(VIEWERS_GROUP, 'relaying-pod', [0, 1, 2, 3], 100, 10)).toHaveLength(fresh.length);
    const afterRestart = await logged();
    await mirror.restoreLost();
    // Each once, as it was decided (version, reason, the pod that decided it).
    expect((await logged()).sort()).toEqual([...appended, ...afterRestart].sort());
  } finally {
    await mirror.onApplicationShutdown();
    redis.disconnect();
  }
}, 30_000);

test('restore: more entries than one call carries go back once each, every shard in the order given, the meta and deciding pod kept', async () => {
  const { redis, log } = await redisWithLog('restore-batches');
  try {
    const now = Date.now();
    // 700 over four shards: 175 each, more than a call's 256 on none but together three calls' worth.
    const many = Array.from({ length: 700 }, (_, i) => ({ ...entry(i % SHARDS, `many-${i}`, now + i, now + i), id: `${now + i}-${i}` }));
    many[5] = { ...many[5]!, event: { ...many[5]!.event, meta: { title: 'kept' } }, pod: 'pod-x' };
    // One shard's alone past a call: 300 more on shard 2.
    const more = Array.from({ length: 300 }, (_, i) => ({ ...entry(2, `more-${i}`, now + 1_000 + i, now + 1_000 + i), id: `${now + 1_000 + i}-${i}` }));
    const all = [...many, ...more];
    expect(await log.restore(all)).toBe(1_000);
    const read = (await log.readAfter(Array(SHARDS).fill(null), 2_000)).shards;
    for (let shard = 0; shard < SHARDS; shard += 1) {
      const given = all.filter((e) => e.shard === shard).map((e) => e.event.streamerId);
      expect({ shard, streamers: read[shard]!.map((e) => e.event.streamerId) }).toEqual({ shard, streamers: given });
    }
    const kept = read.flat().find((e) => e.event.streamerId === 'many-5')!;
    expect([kept.event, kept.pod]).toEqual([many[5]!.event, 'pod-x']);
    // Restored once: a second call (another pod's copy of the same entries) appends none.
    expect(await log.restore(all)).toBe(0);
  } finally {
    redis.disconnect();
  }
}, 30_000);
