import { Cluster } from 'ioredis';
import type { Meta, PresenceEvent, PresenceState } from '../../domain/presence-state.js';
import { neverSeen } from '../../domain/presence-state.js';
import type { ConnectionLeaseView, OnlinePage, PresenceStore, StoreResult } from '../../domain/presence-store.port.js';
import { MAX_OPEN_CONNECTIONS, type PresenceTiming } from '../../domain/streamer-record.js';
import type { TimelineEntry } from '../../domain/timeline.js';
import type { RedisClient } from '../../../redis/redis-client.js';
import type { ReplicaWait } from '../../../redis/replica-wait.js';
import { componentError } from './component-error.js';
import { HeartbeatBatches, type HeartbeatGroup, type PendingHeartbeat } from './heartbeat-batches.js';
import { LuaScript } from './lua-script.js';
import { RedisClockEstimate } from './redis-clock-estimate.js';
import { type RedisKeys, recordKeysIn, shardOf } from './redis-keys.js';
import type { RecentAppends } from './recent-appends.js';
import { appendedTo } from './redis-transition-log.js';
import { canonicalMeta, decodeEvents, FIELDS_PER_EVENT } from './script-reply.js';

/** Told of every call: its operation, how long it took (s), and whether it failed in the end. */
export type StoreObserver = (operation: string, seconds: number, failed: boolean) => void;

const SCRIPTS = {
  heartbeat: new LuaScript('heartbeat'),
  disconnect: new LuaScript('disconnect'),
  end: new LuaScript('end'),
  dueIds: new LuaScript('due-ids'),
  expireDue: new LuaScript('expire-due'),
  previousExpiry: new LuaScript('previous-expiry'),
  offlineIfAbsent: new LuaScript('offline-if-absent'),
  forget: new LuaScript('forget'),
  readStates: new LuaScript('read-states'),
};

/** The events of a heartbeat that changed nothing, the usual one: one array for all of them. */
const NO_EVENTS: readonly PresenceEvent[] = Object.freeze([]);

/** One retry after a short pause: every operation here is idempotent in its effect on presence. */
const ATTEMPTS = 2;
const RETRY_PAUSE_MS = 50;
/**
 * On a Cluster, a call whose shard's primary is unreachable (it died, its replica is not promoted yet)
 * is tried again every UNREACHABLE_PAUSE_MS for up to UNREACHABLE_RETRY_MS. ioredis's Cluster client did
 * this itself, but it also sent again commands whose promise had been rejected, after the pod had gone
 * on to the connection's next operation (RELIABILITY.md, finding 17); it is told not to
 * (redis-connections.ts), and the retrying is done here, in order. Without it, heartbeats failed
 * through a failover and live streamers timed out before their pods re-asserted them.
 *
 * 10 s covers a failover whose first election fails, at a node timeout of up to a second: the primary is
 * marked failed in 1–2 s, its replica waits 0.5–1 s, and a lost vote is tried again 4 s later (Redis's
 * floor), about 8 s in all, and ioredis learns the new primary within a second (SLOTS_REFRESH_MS in
 * redis-connections.ts). 5 s was not enough with both cores busy (CI at 4a7e388). An answer that comes
 * after the client stopped waiting for its ack (the SDK waits 10 s) still renewed the lease. A longer
 * failover refuses the call (`unavailable`); the TTL outlives one lost heartbeat.
 */
const UNREACHABLE_RETRY_MS = 10_000;
const UNREACHABLE_PAUSE_MS = 100;
/**
 * A heartbeat that waited longer than this between the pod and the script (a stalled Redis) is judged as
 * of its receipt (lua/heartbeat.lua); shorter waits are a usual round trip and change nothing. At most
 * RECEIPT_LOOK_BACK_MS back: longer than any stall the pods ride out (a fork, a 2 s pause), short enough
 * that a misread clock cannot excuse much more.
 */
const RECEIPT_WAITED_MIN_MS = 100;
const RECEIPT_LOOK_BACK_MS = 10_000;

/**
 * Presence in Redis, for any number of pods. Each change is one Lua script on one streamer's keys, run
 * atomically on Redis's clock, which also appends its events to the shard's transition log (see
 * lua/prelude.lua for the layout, and `RedisTransitionLog` for the reading side). The client must be created with a
 * command timeout and without an offline queue, so calls reject quickly when Redis is unreachable;
 * errors name this store, so a log line says which component failed.
 */
export class RedisPresenceStore implements PresenceStore {
  private nextSweepShard = 0;
  /**
   * Redis's clock as this pod reads it from the replies, per shard: on a Cluster each primary has its
   * own clock (null `clock` only: a simulated one needs none). After a failover to a server whose clock
   * runs ahead of the old one's, the old one's replies still count for up to 20 s (RedisClockEstimate):
   * a heartbeat may then be judged that much earlier than it came, once past the 100 ms a wait needs.
   */
  private readonly redisClocks = new Map<number, RedisClockEstimate>();
  private readonly batches = new HeartbeatBatches(
    (streamerId) => this.keys.shardOf(streamerId),
    // A Cluster's shards are slots of their own, which one script may not mix.
    () => !(this.redis instanceof Cluster),
    // Settling a promise twice changes nothing: this only reaches those a failure left waiting.
    (groups) =>
      void this.sendHeartbeats(groups).catch((error: unknown) => {
        for (const { heartbeats } of groups) for (const heartbeat of heartbeats) heartbeat.reject(error);
      }),
  );

  /**
   * @param logRetentionMs how long the transition log keeps an entry (EVENT_LOG_RETENTION_MS)
   * @param clock null (production): every script reads Redis `TIME`, the cluster's one clock. Tests that
   *   replay a history on a simulated clock pass one, which the scripts then use instead. @default null
   * @param replicas with replicas (Sentinel, Cluster): a transition is answered once a replica has it
   *   (see ReplicaWait). @default null
   * @param appended told of every entry a call appended to the log, with its id (RecentAppends). @default null
   */
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly timing: PresenceTiming,
    private readonly pod: string,
    private readonly logRetentionMs: number,
    private readonly observe: StoreObserver = () => {},
    private readonly clock: (() => number) | null = null,
    private readonly replicas: ReplicaWait | null = null,
    private readonly appended: RecentAppends | null = null,
  ) {}

  /** Sent with the heartbeats of the same turn (HeartbeatBatches): a connect is a first heartbeat. */
  connect(streamerId: string, connectionId: string): Promise<StoreResult> {
    return this.batches.add(streamerId, connectionId, '', 0);
  }

  heartbeat(streamerId: string, connectionId: string, meta?: Meta, silentForMs = 0): Promise<StoreResult> {
    return this.batches.add(streamerId, connectionId, meta === undefined ? '' : canonicalMeta(meta), silentForMs);
  }

  disconnect(streamerId: string, connectionId: string): Promise<StoreResult> {
    return this.change(SCRIPTS.disconnect, streamerId, [connectionId, this.timing.reconnectGraceMs]);
  }

  end(streamerId: string, sentAt?: number): Promise<StoreResult> {
    return this.change(SCRIPTS.end, streamerId, sentAt === undefined || !Number.isFinite(sentAt) ? [] : [Math.round(sentAt)]);
  }

  async expireDue(limit: number): Promise<StoreResult> {
    // Two steps, so each script declares the keys it touches: which streamers are due, every shard at
    // once (one read each), then their expiry, every shard at once with its part of the budget. The first
    // shard rotates so none is starved. All at once, not shard by shard: with due leases on twelve shards
    // a sweep took twelve round trips, and on a busy Cluster ended past the next tick (offline 250-500 ms
    // after its deadline for one in ten in `npm run bench`).
    // One count for the whole sweep: the layout may change under it (ShardLayoutSync).
    const shardCount = this.keys.shardCount;
    const first = this.nextSweepShard;
    this.nextSweepShard = (first + 1) % shardCount;
    const order = Array.from({ length: shardCount }, (_, i) => (first + i) % shardCount);
    const sentAt = Date.now();
    const due = await this.call('expire-due', () =>
      Promise.all(order.map(async (shard) => (await SCRIPTS.dueIds.run(this.redis, [this.keys.deadlines(shard, shardCount)], [...this.common(), limit])) as string[])),
    );
    // The sweep ticks every 250 ms or less: the steady source of this pod's reading of Redis's clock.
    due.forEach((reply, i) => this.redisClockOf(order[i]!).observe(sentAt, Number(reply[0])));
    let serverTime = Math.max(0, ...due.map((reply) => Number(reply[0])));
    let budget = limit;
    const claims: [number, string[]][] = [];
    for (const [i, shard] of order.entries()) {
      const ids = due[i]!.slice(1, 1 + budget);
      if (ids.length === 0) continue;
      budget -= ids.length;
      claims.push([shard, ids]);
      if (budget === 0) break;
    }
    // Each reply decoded as it comes: decoding tells RecentAppends what its shard appended, which must
    // not be lost to another shard's failure.
    const expired = await Promise.all(
      claims.map(async ([shard, ids]) => {
        const keys = [...this.keys.shardKeys(shard, shardCount), ...ids.flatMap((id) => this.keys.recordKeys(id, shardCount))];
        const reply = (await this.call('expire-due', () => SCRIPTS.expireDue.run(this.redis, keys, [...this.common(), ...ids]))) as string[];
        return { serverTime: Number(reply[0]), events: this.decode(reply, 1, reply.length, keys[2]!) };
      }),
    );
    const events = [];
    for (const shard of expired) {
      serverTime = Math.max(serverTime, shard.serverTime);
      events.push(...shard.events);
    }
    const previous = this.keys.layout.previousCount;
    if (previous !== null && budget > 0) events.push(...(await this.expirePrevious(previous, shardCount, budget)));
    return { serverTime, events };
  }

  /**
   * The previous shard count's leases, while it is still read after a change (ShardLayout): nothing
   * else sweeps them, and a streamer that left just before its pod moved (in its reconnect grace, or on a
   * pod that died) would stay online for its viewers for good. Each one that ran out goes offline under
   * the current keys, unless those know it already (a pod re-asserted it); then the old record goes.
   */
  private async expirePrevious(previous: number, current: number, limit: number): Promise<PresenceEvent[]> {
    const events: PresenceEvent[] = [];
    let budget = limit;
    for (let shard = 0; shard < previous && budget > 0; shard += 1) {
      const due = (await this.call('expire-due', () =>
        SCRIPTS.dueIds.run(this.redis, [this.keys.deadlines(shard, previous)], [...this.common(), budget]),
      )) as string[];
      for (const id of due.slice(1)) {
        budget -= 1;
        const old = [...this.keys.shardKeys(shard, previous), ...this.keys.recordKeys(id, previous)];
        const [, state, since, reason] = (await this.call('expire-due', () => SCRIPTS.previousExpiry.run(this.redis, old, [...this.common(), id]))) as string[];
        if (state === 'live') continue;
        if (state === 'gone') {
          const keys = [...this.keys.shardKeys(shardOf(id, current), current), ...this.keys.recordKeys(id, current)];
          const reply = (await this.call('expire-due', () => SCRIPTS.offlineIfAbsent.run(this.redis, keys, [...this.common(), id, since!, reason!]))) as string[];
          events.push(...this.decode(reply, 1, reply.length, keys[2]!));
        }
        await this.call('expire-due', () => SCRIPTS.forget.run(this.redis, old, [...this.common(), id]));
      }
    }
    return events;
  }

  async settleLost(streamerId: string, since: number): Promise<StoreResult> {
    return this.change(SCRIPTS.offlineIfAbsent, streamerId, [since, 'timeout']);
  }

  async getMany(streamerIds: readonly string[]): Promise<PresenceState[]> {
    // One script per shard (its keys share a Cluster slot), all sent at once.
    const byShard = new Map<number, string[]>();
    for (const id of new Set(streamerIds)) {
      const shard = this.keys.shardOf(id);
      const ids = byShard.get(shard);
      if (ids === undefined) byShard.set(shard, [id]);
      else ids.push(id);
    }
    const states = new Map<string, PresenceState>();
    await this.call('read', () =>
      Promise.all(
        [...byShard.values()].map(async (ids) => {
          const fields = (await SCRIPTS.readStates.run(this.redis, ids.map((id) => this.keys.stateKey(id)), [])) as (string | null | false)[];
          ids.forEach((id, i) => states.set(id, decodeState(id, fields.slice(4 * i, 4 * i + 4))));
        }),
      ),
    );
    return streamerIds.map((id) => states.get(id)!);
  }

  async listOnline(afterId: string | null, limit: number): Promise<OnlinePage> {
    // Each shard's online set is ordered by id; the page is the smallest `limit` ids across shards.
    const from = afterId === null ? '-' : `(${afterId}`;
    const ids = (await this.call('list', () => Promise.all(this.shards().map((shard) => this.redis.zrangebylex(this.keys.online(shard), from, '+', 'LIMIT', 0, limit + 1))))).flat();
    ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const page = ids.slice(0, limit);
    const items = await this.getMany(page);
    return { items, lastId: ids.length > limit ? page[page.length - 1]! : null };
  }

  async countOnline(): Promise<number> {
    const counts = await this.call('count', () => Promise.all(this.shards().map((shard) => this.redis.zcard(this.keys.online(shard)))));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  async connections(streamerId: string): Promise<ConnectionLeaseView[]> {
    // lua/prelude.lua: connection id -> 'o<liveUntil>' (open), 'c<liveUntil>' (closed, in its grace) or
    // 'p<until>' (parked). Parked ones that ran out may linger until the streamer is next touched.
    const leases = await this.call('connections', () => this.redis.hgetall(this.keys.leasesKey(streamerId)));
    return Object.entries(leases).map(([connectionId, lease]) => ({ connectionId, liveUntil: Number(lease.slice(1)), closed: lease.startsWith('c'), parked: lease.startsWith('p') }));
  }

  async timeline(streamerId: string, limit: number): Promise<TimelineEntry[]> {
    const entries = await this.call('timeline', () => this.redis.lrange(this.keys.timelineKey(streamerId), 0, limit - 1));
    return entries.map((entry) => JSON.parse(entry) as TimelineEntry);
  }

  /**
   * One call's heartbeats, grouped by shard (HeartbeatBatches), as one script call (lua/heartbeat.lua),
   * each answered with its own outcome and events. Those that made a transition are answered once a
   * replica has it; the others at once.
   */
  private async sendHeartbeats(groups: readonly HeartbeatGroup[]): Promise<void> {
    const count = this.keys.shardCount;
    const keys: string[] = [];
    const args: Array<string | number> = [...this.common(), MAX_OPEN_CONNECTIONS, RECEIPT_WAITED_MIN_MS, RECEIPT_LOOK_BACK_MS];
    const logs: string[] = [];
    for (const { shard, heartbeats } of groups) {
      const shardKeys = this.keys.shardKeys(shard, count);
      keys.push(...shardKeys);
      logs.push(shardKeys[2]);
      args.push(heartbeats.length);
      const tag = this.keys.tag(shard, count);
      // Each heartbeat's receipt on Redis's clock: its time here plus the shard's offset, read once a call.
      const offset = this.clock === null ? this.redisClockOf(shard).offset() : null;
      for (const { streamerId, connectionId, meta, silentForMs, receivedAt } of heartbeats) {
        keys.push(...recordKeysIn(tag, streamerId));
        args.push(streamerId, connectionId, meta, Number.isFinite(silentForMs) ? Math.max(0, Math.round(silentForMs)) : 0, offset === null ? 0 : receivedAt + offset);
      }
    }
    const sentAt = Date.now();
    const reply = (await this.call('heartbeat', () => SCRIPTS.heartbeat.runNow(this.redis, keys, args))) as string[];
    const serverTime = Number(reply[0]);
    const outcomes = reply[1]!;
    const transitions: Array<[PendingHeartbeat, StoreResult]> = [];
    let at = 2;
    let n = 0;
    for (const [g, { shard, heartbeats }] of groups.entries()) {
      this.redisClockOf(shard).observe(sentAt, serverTime);
      const log = logs[g]!;
      for (const heartbeat of heartbeats) {
        // Two characters per heartbeat: 'k' taken or 'x' refused, then its count of events.
        const refused = outcomes[2 * n] === 'x';
        const end = at + FIELDS_PER_EVENT * (outcomes.charCodeAt(2 * n + 1) - 48);
        n += 1;
        const events = end === at ? NO_EVENTS : this.decode(reply, at, end, log);
        at = end;
        const result: StoreResult = refused ? { serverTime, events, refused: 'too_many_connections' } : { serverTime, events };
        if (events.length > 0 && this.replicas !== null) transitions.push([heartbeat, result]);
        else heartbeat.resolve(result);
      }
    }
    if (transitions.length === 0) return;
    // A failed WAIT is only a slower replica: the writes themselves succeeded.
    await this.replicas!.after(keys[0]!).catch(() => undefined);
    for (const [heartbeat, result] of transitions) heartbeat.resolve(result);
  }

  private async change(script: LuaScript, streamerId: string, args: (string | number)[]): Promise<StoreResult> {
    const keys = [...this.keys.shardKeys(this.keys.shardOf(streamerId)), ...this.keys.recordKeys(streamerId)];
    const reply = (await this.call(script.name, () => script.run(this.redis, keys, [...this.common(), streamerId, ...args]))) as string[];
    // A transition (its events are in the reply) is answered once a replica has it; a failed WAIT is
    // only a slower replica: the write itself succeeded.
    if (this.replicas !== null && reply.length > 1) await this.replicas.after(keys[0]!).catch(() => undefined);
    return { serverTime: Number(reply[0]), events: this.decode(reply, 1, reply.length, keys[2]!) };
  }

  /** A reply's events; each one's log entry (appended to `log`, at the reply's time) goes to `appended`. */
  private decode(reply: readonly string[], from: number, to: number, log: string): PresenceEvent[] {
    const appended = this.appended;
    // Most replies (heartbeats that change nothing) carry no event: nothing to work out for them.
    if (appended === null || to - from < FIELDS_PER_EVENT) return decodeEvents(reply, from, to);
    const at = Number(reply[0]);
    const shard = this.logPosition(log);
    return decodeEvents(reply, from, to, (event, id) => appended.add(appendedTo(log, { shard, id, event, at, pod: this.pod })));
  }

  /** A log stream's position among the logs read (RedisKeys.logTags), as a reader of the log numbers it. */
  private logPosition(log: string): number {
    return this.keys.logTags().indexOf(log.slice(0, -'log'.length));
  }

  private redisClockOf(shard: number): RedisClockEstimate {
    let clock = this.redisClocks.get(shard);
    if (clock === undefined) {
      clock = new RedisClockEstimate();
      this.redisClocks.set(shard, clock);
    }
    return clock;
  }

  /** ARGV[1..4] of every script (lua/prelude.lua): pod, log retention, clock ('' = Redis TIME), TTL. */
  private common(): Array<string | number> {
    return [this.pod, this.logRetentionMs, this.clock === null ? '' : this.clock(), this.timing.presenceTtlMs];
  }

  private shards(): number[] {
    return Array.from({ length: this.keys.shardCount }, (_, shard) => shard);
  }

  private async call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    for (let attempt = 1; ; attempt += 1) {
      try {
        const result = await run();
        this.appended?.answered();
        this.observe(operation, (performance.now() - started) / 1000, false);
        return result;
      } catch (error) {
        const failingOver = this.redis instanceof Cluster && isUnreachable(error) && performance.now() - started < UNREACHABLE_RETRY_MS;
        if (attempt >= ATTEMPTS && !failingOver) {
          this.observe(operation, (performance.now() - started) / 1000, true);
          throw this.named(operation, error);
        }
        await new Promise((resolve) => setTimeout(resolve, failingOver ? UNREACHABLE_PAUSE_MS : RETRY_PAUSE_MS));
      }
    }
  }

  private named(operation: string, error: unknown): Error {
    return componentError('redis presence store', operation, error);
  }
}

/**
 * A failure after which the client holds the command no more: its node's connection closed, or the
 * cluster has no primary for the slot yet. (If it was carried out before the close, trying it again here
 * changes nothing: every operation is idempotent, and the connection's next one still comes after.)
 * Not a timeout: a command that timed out may be sitting in a hung server's socket.
 */
function isUnreachable(error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  return message === 'Connection is closed.' || message.startsWith('CLUSTERDOWN') || message.startsWith("Cluster isn't ready") || message.startsWith("Stream isn't writeable");
}

/** The fields of one streamer; an absent one is null, or false as a script's reply over RESP3. */
function decodeState(streamerId: string, [status, since, version, meta]: (string | null | false)[]): PresenceState {
  if (!status) return neverSeen(streamerId);
  const base = { streamerId, status: status as PresenceState['status'], since: Number(since), version: Number(version) };
  return meta ? { ...base, meta: JSON.parse(meta) } : base;
}
