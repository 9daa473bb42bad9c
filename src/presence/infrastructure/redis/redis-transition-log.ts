import { setTimeout as sleep } from 'node:timers/promises';
import type { Meta, PresenceEvent, PresenceReason, PresenceStatus } from '../../domain/presence-state.js';
import type { LogEntry, LogPosition } from '../../domain/transition-log.js';
import { idTime } from '../../domain/transition-log.js';
import type { GroupBacklog, TakenOver, TransitionLog } from '../../domain/transition-log.port.js';
import type { RedisClient } from '../../../redis/redis-client.js';
import { asComponent, componentError } from './component-error.js';
import { LuaScript } from './lua-script.js';
import type { RecentAppends } from './recent-appends.js';
import type { RedisKeys } from './redis-keys.js';

const COMPONENT = 'redis transition log';
/**
 * How often a relay on a Cluster looks at its shards while they are quiet (see `pollEach`): the delay it
 * adds to an event, at the cost of a read per shard per pod this often.
 */
export const CLUSTER_POLL_MS = 20;

/** Entries one restore call carries at most: a pod may hold thousands after a long receiver outage. */
const RESTORE_CHUNK = 256;
/** The fields lua/prelude.lua `emit` writes, and whether viewers had it, as name, value pairs: what one restored entry carries. */
const ENTRY_FIELDS = 18;

/**
 * Appends again, in the order given, the entries of one stream that it lost (Redis restarted empty),
 * each unless the stream still has it or a caller restored it already (pods hold copies of the same
 * entries: webhook-log-mirror.ts); the marks live with the stream's shard for the retention. A batch per
 * call: after a restart with a receiver outage behind it, each pod restored some 5,000 candidates, one
 * call each, 3.5–4 s on a busy machine while its users' ends and closes waited (RELIABILITY, finding 24).
 */
const RESTORE = new LuaScript(
  'restore',
  `-- KEYS[1] <tag>log   KEYS[2] <tag>restored
-- ARGV[1] retention ms   ARGV[2] fields per entry (F)
-- then per entry: the id it was read at, streamer:version, its F fields (name, value, ...)
local per = 2 + tonumber(ARGV[2])
local appended = 0
for at = 3, #ARGV, per do
  if #redis.call('XRANGE', KEYS[1], ARGV[at], ARGV[at]) == 0 and redis.call('HSETNX', KEYS[2], ARGV[at + 1], '1') == 1 then
    redis.call('XADD', KEYS[1], '*', unpack(ARGV, at + 2, at + per - 1))
    appended = appended + 1
  end
end
if appended > 0 then redis.call('PEXPIRE', KEYS[2], ARGV[1]) end
return appended`,
);

/** A stream entry as ioredis returns it: the id, then field, value, field, value... */
type RawEntry = [string, string[]];

/**
 * The reading side of the transition log in Redis: one Stream per key shard (`<tag>log`), which the
 * presence scripts append to (lua/prelude.lua `emit`). Relays read through consumer groups; the feed
 * reads with XRANGE.
 *
 * `blocking` is a connection of its own for XREADGROUP … BLOCK: a blocked command holds its connection,
 * so it must not share one with presence calls. Its command timeout must exceed the longest block asked for.
 *
 * `taken`, when given, is told of every entry a relay takes (RecentAppends): the viewer relay takes each
 * entry within milliseconds of its append, so the pod that relayed it can append it again if Redis loses
 * it before any log keeper read it, even when the pod whose call appended it never learnt its id (the
 * reply was lost with Redis) or died (RELIABILITY.md, finding 14).
 */
export class RedisTransitionLog implements TransitionLog {
  constructor(
    private readonly redis: RedisClient,
    private readonly blocking: RedisClient,
    private readonly keys: RedisKeys,
    private readonly retentionMs: number,
    private readonly taken: RecentAppends | null = null,
  ) {}

  /** The counts of the layouts read, e.g. `16`, or `8+16` while the previous 8 shards are still read. */
  get layout(): string {
    const { previousCount, count } = this.keys.layout;
    return previousCount === null ? String(count) : `${previousCount}+${count}`;
  }

  /** The streams read: the current layout's shards, after the previous layout's for a while after a change. */
  get shardCount(): number {
    return this.keys.logTags().length;
  }

  async readAfter(position: LogPosition, count: number): Promise<{ now: number; shards: LogEntry[][] }> {
    // TIME first: Redis runs one connection's commands in order, so anything appended after these reads
    // has an id at or above `now` (on a Cluster, the shards' nodes' clocks may differ by a little: the
    // feed's idle-position margin covers that).
    const [time, ...replies] = await this.named('read', () =>
      Promise.all([
        this.redis.time(),
        ...this.shards().map((shard) => {
          const after = position[shard] ?? null;
          return this.redis.xrange(this.stream(shard), after === null ? '-' : `(${after}`, '+', 'COUNT', count);
        }),
      ]),
    );
    const [seconds, micros] = time as unknown as [string, string];
    const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    // The stream is trimmed lazily (on append, approximately): what is past the retention is gone to readers.
    const shards = replies.map((raw, shard) => (raw as RawEntry[]).map((entry) => decodeEntry(shard, entry)).filter((e) => e.at >= now - this.retentionMs));
    return { now, shards };
  }

  async tips(): Promise<(string | null)[]> {
    const replies = await this.named('tips', () => Promise.all(this.shards().map((shard) => this.redis.xrevrange(this.stream(shard), '+', '-', 'COUNT', 1))));
    return replies.map((entries) => (entries as RawEntry[])[0]?.[0] ?? null);
  }

  async takeNew(group: string, consumer: string, shards: readonly number[], count: number, blockMs: number): Promise<LogEntry[]> {
    if (shards.length === 0) return [];
    const keys = shards.map((shard) => this.stream(shard));
    const reply = this.blocking.isCluster ? await this.pollEach(group, consumer, keys, count, blockMs) : await this.readGroup(group, consumer, keys, count, blockMs);
    const taken = reply.flatMap(([key, entries]) => {
      const shard = keys.indexOf(key);
      return entries.map((entry) => remember(decodeEntry(shards[shard]!, entry), key));
    });
    for (const entry of taken) this.taken?.add(entry);
    return taken;
  }

  /**
   * On a Cluster one XREADGROUP may only name streams of one slot, and a blocked read would hold its
   * node's connection (the other shards there would wait behind it): each shard is read without
   * blocking, all at once, every CLUSTER_POLL_MS until something comes or `blockMs` has passed.
   */
  private async pollEach(group: string, consumer: string, keys: readonly string[], count: number, blockMs: number): Promise<[string, RawEntry[]][]> {
    const giveUpAt = Date.now() + blockMs;
    for (;;) {
      // One shard's primary failing (a failover) must not hold back the others': what they gave is
      // returned (it is pending for this consumer now), and the failure only when nothing came.
      const settled = await Promise.allSettled(keys.map((key) => this.readGroup(group, consumer, [key], count, null)));
      const reply = settled.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
      const failed = settled.find((result) => result.status === 'rejected');
      if (reply.length > 0) return reply;
      if (failed !== undefined) throw failed.reason;
      if (Date.now() >= giveUpAt) return reply;
      await sleep(Math.max(0, Math.min(CLUSTER_POLL_MS, giveUpAt - Date.now())));
    }
  }

  /** XREADGROUP of `keys` (one slot on a Cluster), blocking up to `blockMs` unless null; creates a missing group. */
  private async readGroup(group: string, consumer: string, keys: readonly string[], count: number, blockMs: number | null): Promise<[string, RawEntry[]][]> {
    const block = blockMs === null ? [] : ['BLOCK', blockMs];
    const read = () =>
      (this.blocking.xreadgroup as (...args: (string | number)[]) => Promise<[string, RawEntry[]][] | null>)(
        'GROUP',
        group,
        consumer,
        'COUNT',
        count,
        ...block,
        'STREAMS',
        ...keys,
        ...keys.map(() => '>'),
      );
    try {
      return (await read()) ?? [];
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOGROUP')) throw this.error('take', error);
      await this.createGroup(group, keys);
      return (
        (await read().catch((again: unknown) => {
          throw this.error('take', again);
        })) ?? []
      );
    }
  }

  async takeOver(group: string, consumer: string, shard: number, minIdleMs: number, count: number, cursor: string): Promise<TakenOver> {
    const key = this.stream(shard);
    const reply = await this.named('take over', async () => {
      try {
        return (await this.redis.xautoclaim(key, group, consumer, minIdleMs, cursor, 'COUNT', count)) as [string, RawEntry[], string[]];
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('NOGROUP')) return ['0-0', [], []] as [string, RawEntry[], string[]];
        throw error;
      }
    });
    const [next, entries, deleted] = reply;
    // Redis 7 lists entries trimmed while pending apart (and drops them from the pending list).
    return { entries: entries.filter((entry) => entry !== null).map((entry) => remember(decodeEntry(shard, entry), key)), lost: (deleted ?? []).length, next };
  }

  async restore(entries: readonly LogEntry[], viewersHad: (entry: LogEntry) => number | undefined = () => undefined): Promise<number> {
    // Per stream, in the order given (the callers give each shard's entries in id order), in calls of at
    // most RESTORE_CHUNK, one after the other: calls sent together could run out of order, as one whose
    // EVALSHA found no script (Redis just restarted) runs again as EVAL after the next one ran.
    const perStream = await Promise.all(
      [...this.byStream(entries)].map(async ([stream, batch]) => {
        const restored = `${stream.slice(0, -'log'.length)}restored`;
        let appended = 0;
        for (let from = 0; from < batch.length; from += RESTORE_CHUNK) {
          const args: (string | number)[] = [this.retentionMs, ENTRY_FIELDS];
          for (const entry of batch.slice(from, from + RESTORE_CHUNK)) args.push(entry.id, `${entry.event.streamerId}:${entry.event.version}`, ...restoredFields(entry, viewersHad(entry)));
          appended += Number(await this.named('restore', () => RESTORE.run(this.redis, [stream, restored], args)));
        }
        return appended;
      }),
    );
    return perStream.reduce((sum, appended) => sum + appended, 0);
  }

  async acknowledgedBelow(group: string): Promise<(string | null)[]> {
    return this.named('acknowledged', () =>
      Promise.all(
        this.shards().map(async (shard) => {
          const key = this.stream(shard);
          const groups = (await this.redis.xinfo('GROUPS', key).catch((error: unknown) => {
            if (error instanceof Error && error.message.startsWith('ERR no such key')) return [];
            throw error;
          })) as unknown[][];
          const info = groups.map(fieldsOf).find((fields) => fields.name === group);
          if (info === undefined) return null;
          if (Number(info.pending ?? 0) > 0) {
            const [, smallest] = (await this.redis.xpending(key, group)) as [number, string | null];
            if (smallest) return smallest;
          }
          // Nothing pending: every entry the group read is acknowledged, up to its last-delivered id.
          const [ms, seq] = String(info['last-delivered-id']).split('-');
          return `${ms}-${Number(seq) + 1}`;
        }),
      ),
    );
  }

  /** `entries` by the stream each was read from (streamOf), in the order given; those of no stream left out. */
  private byStream(entries: readonly LogEntry[]): Map<string, LogEntry[]> {
    const byStream = new Map<string, LogEntry[]>();
    for (const entry of entries) {
      const stream = this.streamOf(entry);
      if (stream === null) continue;
      let batch = byStream.get(stream);
      if (batch === undefined) byStream.set(stream, (batch = []));
      batch.push(entry);
    }
    return byStream;
  }

  /** The stream an entry was read from (after a change of shard layout, its position may name another), else its shard's. */
  private streamOf(entry: LogEntry): string | null {
    return readFrom.get(entry) ?? (entry.shard < this.shardCount ? this.stream(entry.shard) : null);
  }

  async ack(group: string, entries: readonly LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // Acknowledged in the stream each entry was read from: after a change of shard layout, its position
    // may name another stream.
    const byStream = this.byStream(entries);
    await this.named('ack', () => Promise.all([...byStream].map(([stream, inStream]) => this.redis.xack(stream, group, ...inStream.map((entry) => entry.id)))));
  }

  async backlog(group: string): Promise<GroupBacklog> {
    let undelivered = 0;
    let oldestAt: number | null = null;
    const older = (at: number) => (oldestAt = oldestAt === null ? at : Math.min(oldestAt, at));
    for (const shard of this.shards()) {
      const key = this.stream(shard);
      const groups = (await this.named('backlog', async () => {
        try {
          return await this.redis.xinfo('GROUPS', key);
        } catch (error) {
          if (error instanceof Error && error.message.startsWith('ERR no such key')) return [];
          throw error;
        }
      })) as unknown[][];
      const info = groups.map(fieldsOf).find((fields) => fields.name === group);
      if (info === undefined) {
        // No group yet: everything the shard holds is undelivered.
        const length = await this.named('backlog', () => this.redis.xlen(key));
        undelivered += length;
        if (length > 0) older(idTime(((await this.named('backlog', () => this.redis.xrange(key, '-', '+', 'COUNT', 1))) as RawEntry[])[0]![0]));
        continue;
      }
      const pending = Number(info.pending ?? 0);
      // Redis cannot tell the lag after some deletions (null): count what follows the group's last read.
      const lag =
        info.lag === null || info.lag === undefined
          ? ((await this.named('backlog', () => this.redis.xrange(key, `(${String(info['last-delivered-id'])}`, '+'))) as RawEntry[]).length
          : Number(info.lag);
      undelivered += pending + lag;
      if (pending > 0) {
        const [, smallest] = (await this.named('backlog', () => this.redis.xpending(key, group))) as [number, string | null];
        if (smallest) older(idTime(smallest));
      }
      if (lag > 0) {
        const next = (await this.named('backlog', () => this.redis.xrange(key, `(${String(info['last-delivered-id'])}`, '+', 'COUNT', 1))) as RawEntry[];
        if (next.length > 0) older(idTime(next[0]![0]));
      }
    }
    return { undelivered, oldestAt };
  }

  /** Creates `group` on each stream (and the stream), at its start; one that exists is left as it is. */
  private async createGroup(group: string, keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      await this.redis.xgroup('CREATE', key, group, '0', 'MKSTREAM').catch((error: unknown) => {
        if (!(error instanceof Error) || !error.message.startsWith('BUSYGROUP')) throw this.error('create group', error);
      });
    }
  }

  /** Position `shard` of the log: its stream (RedisKeys.logTags). */
  private stream(shard: number): string {
    const tag = this.keys.logTags()[shard];
    if (tag === undefined) throw new Error(`log position ${shard} is not read any more (the shard layout changed)`);
    return `${tag}log`;
  }

  private shards(): number[] {
    return Array.from({ length: this.shardCount }, (_, shard) => shard);
  }

  private named<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return asComponent(COMPONENT, operation, run);
  }

  private error(operation: string, error: unknown): Error {
    return componentError(COMPONENT, operation, error);
  }
}

function fieldsOf(flat: unknown[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[String(flat[i])] = flat[i + 1];
  return fields;
}

/** The stream each entry taken by a relay was read from, for its acknowledgement. */
const readFrom = new WeakMap<LogEntry, string>();

function remember(entry: LogEntry, stream: string): LogEntry {
  readFrom.set(entry, stream);
  return entry;
}

/**
 * An entry a presence script appended to `stream` (its reply gives the id), as this log would read it:
 * restored and acknowledged in that stream whatever the shard layout has become.
 */
export function appendedTo(stream: string, entry: LogEntry): LogEntry {
  return remember(entry, stream);
}

/** One stream entry (fields written by lua/prelude.lua `emit`) as a log entry. */
function decodeEntry(shard: number, [id, flat]: RawEntry): LogEntry {
  const f = fieldsOf(flat) as Record<string, string>;
  const base = { streamerId: f.id!, status: f.st as PresenceStatus, since: Number(f.since), version: Number(f.v) };
  const reason = f.r as PresenceReason;
  const event: PresenceEvent = f.m ? { ...base, meta: JSON.parse(f.m) as Meta, reason } : { ...base, reason };
  const entry = { shard, id, event, at: Number(f.at), pod: f.pod! };
  return f.vd !== undefined && f.vd !== '' ? { ...entry, viewersHad: Number(f.vd) } : entry;
}

/**
 * The fields lua/prelude.lua `emit` writes for `entry`, with its original decision time and pod, and
 * whether the viewer relays had delivered it (ENTRY_FIELDS of them).
 */
function restoredFields(entry: LogEntry, viewersHad: number | undefined): string[] {
  const { streamerId, status, since, version, reason } = entry.event;
  const meta = 'meta' in entry.event && entry.event.meta !== undefined ? JSON.stringify(entry.event.meta) : '';
  return ['id', streamerId, 'st', status, 'since', String(since), 'v', String(version), 'r', reason, 'm', meta, 'at', String(entry.at), 'pod', entry.pod, 'vd', viewersHad === undefined ? '' : String(viewersHad)];
}
