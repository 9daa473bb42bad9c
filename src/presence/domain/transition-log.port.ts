import type { LogEntry, LogPosition } from './transition-log.js';

/** What one relay group has not delivered yet. */
export interface GroupBacklog {
  /** Entries not yet acknowledged: taken by a consumer and in flight, or not taken yet. */
  readonly undelivered: number;
  /** When the oldest of them was appended (ms since the epoch, the log's clock), or null when none. */
  readonly oldestAt: number | null;
}

/** Entries a consumer took over from consumers that stalled or died (or from itself). */
export interface TakenOver {
  readonly entries: readonly LogEntry[];
  /** Pending when trimmed by age from the log: they can no longer be delivered. */
  readonly lost: number;
  /** Where the next call goes on through the pending entries; '0-0' when this one reached their end. */
  readonly next: string;
}

/**
 * The transition log: every event a store operation produces, appended in the same atomic step as the
 * state change (the store writes it; see `PresenceStore`), kept for the retention (by age), and read by
 * relays and the event feed. Implementations: `MemoryTransitionLog` (single node: the memory store's
 * own) and `RedisTransitionLog` (one Stream per key shard).
 *
 * Relays read it through consumer groups: each group (viewers, webhooks) gets every entry; within a
 * group each entry is taken by one consumer at a time and stays pending until acknowledged, and a
 * consumer can take over entries another took and left unacknowledged for a while (it died or stalled).
 * Delivery is therefore at least once per group.
 */
export interface TransitionLog {
  /** How many shards (positions) the log has; a feed cursor carries one position per shard. */
  readonly shardCount: number;
  /** Which shards the positions are (it changes with the shard layout); a feed cursor carries it too. */
  readonly layout: string;
  /**
   * The log's clock, read first, then up to `count` entries of each shard after its position (null:
   * from the oldest kept), in id order. Entries appended after the read have ids at or above `now`.
   * `droppedThrough`, per shard: the newest id dropped before its retention (a log with a size cap),
   * so that a reader positioned before it knows it missed entries.
   */
  readAfter(position: LogPosition, count: number): Promise<{ now: number; shards: LogEntry[][]; droppedThrough?: (string | null)[] }>;
  /** The id of the newest entry of each shard (null for an empty shard): a cheap "anything new?" for long polls. */
  tips(): Promise<(string | null)[]>;
  /**
   * Entries of `shards` never taken by any consumer of `group`, at most `count` per shard, now taken by
   * `consumer`; waits up to `blockMs` for one when there are none. Creates the group when missing (at
   * the start of the log, so entries appended before it existed, e.g. after a store restart, are not skipped).
   */
  takeNew(group: string, consumer: string, shards: readonly number[], count: number, blockMs: number): Promise<LogEntry[]>;
  /**
   * Entries of `shard` that consumers of `group` (this one included) took and left unacknowledged for
   * `minIdleMs`, now `consumer`'s, from `cursor` ('0-0': the first pending entry) on, at most `count`.
   * Taking an entry over makes it pending again (to `consumer`), so a scan follows `next` to the end.
   */
  takeOver(group: string, consumer: string, shard: number, minIdleMs: number, count: number, cursor: string): Promise<TakenOver>;
  /** Done with these entries for `group`: they are delivered (or given up on). Acknowledging twice is harmless. */
  ack(group: string, entries: readonly LogEntry[]): Promise<void>;
  backlog(group: string): Promise<GroupBacklog>;
  /**
   * Per shard, an id below which `group` has acknowledged every entry (entries at or above it may be
   * acknowledged too), or null when the group has not read the shard yet.
   */
  acknowledgedBelow(group: string): Promise<(string | null)[]>;
  /**
   * Entries taken from this log that it no longer holds (its store restarted empty), appended again, as
   * new entries of the same shards, so the consumers that own those shards now deliver them; entries it
   * still holds are left as they are, and an entry another caller restored already is not appended
   * again (several pods may hold the same entries). Those `viewersHad` gives a time for are appended as
   * delivered to viewers by then (`LogEntry.viewersHad`). Returns how many were appended.
   */
  restore(entries: readonly LogEntry[], viewersHad?: (entry: LogEntry) => number | undefined): Promise<number>;
}
