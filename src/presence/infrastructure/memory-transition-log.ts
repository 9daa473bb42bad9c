import type { PresenceEvent } from '../domain/presence-state.js';
import type { LogEntry, LogPosition } from '../domain/transition-log.js';
import { compareIds } from '../domain/transition-log.js';
import type { GroupBacklog, TakenOver, TransitionLog } from '../domain/transition-log.port.js';

/** What the embedded log keeps at most (a few hundred bytes each): the newest 100,000 transitions. */
export const MAX_MEMORY_LOG_ENTRIES = 100_000;

interface Group {
  /** Index (see `base`) of the first entry no consumer of the group has taken. */
  next: number;
  readonly pending: Map<string, LogEntry>;
}

/**
 * The embedded transition log: in this process's memory, for a SINGLE NODE, written by the memory
 * store inside its own (synchronous, so atomic) operations. One shard; entries older than the
 * retention, or beyond the newest `maxEntries`, are dropped as new ones come (a feed reader whose
 * position was dropped is told its cursor expired). Consumer groups are plain cursors here: there is no other
 * process to take over from.
 */
export class MemoryTransitionLog implements TransitionLog {
  readonly shardCount = 1;
  readonly layout = '1';
  private readonly entries: LogEntry[] = [];
  /** The index of `entries[0]` since the log began: indexes stay valid as the front is trimmed. */
  private base = 0;
  /** How many entries at the front of `entries` are past the retention (dropped lazily, see `trim`). */
  private expired = 0;
  private lastMs = 0;
  private lastSeq = 0;
  private readonly groups = new Map<string, Group>();
  private readonly waiters = new Set<() => void>();

  /** The newest entry dropped by the count cap (before its retention), or null: readers behind it missed entries. */
  private droppedThrough: string | null = null;

  /**
   * @param maxEntries entries kept at most, whatever the retention: a flapping client must not grow
   *   the embedded pod's heap for a day. @default MAX_MEMORY_LOG_ENTRIES
   */
  constructor(
    private readonly retentionMs: number,
    private readonly clock: () => number = Date.now,
    private readonly maxEntries = MAX_MEMORY_LOG_ENTRIES,
  ) {}

  /** Appends one event; called by the memory store in the same synchronous step as the change. */
  append(event: PresenceEvent, at: number, pod: string): LogEntry {
    const ms = Math.max(at, this.lastMs);
    this.lastSeq = ms === this.lastMs ? this.lastSeq + 1 : 0;
    this.lastMs = ms;
    const entry: LogEntry = { shard: 0, id: `${ms}-${this.lastSeq}`, event, at, pod };
    this.entries.push(entry);
    this.trim(at);
    for (const wake of [...this.waiters]) wake();
    return entry;
  }

  async readAfter(position: LogPosition, count: number): Promise<{ now: number; shards: LogEntry[][]; droppedThrough: (string | null)[] }> {
    const now = this.clock();
    this.trim(now);
    const after = position[0] ?? null;
    let start = Math.max(this.expired, after === null ? 0 : this.indexAfter(after));
    while (start < this.entries.length && this.entries[start]!.at < now - this.retentionMs) start += 1;
    return { now, shards: [this.entries.slice(start, start + count)], droppedThrough: [this.droppedThrough] };
  }

  async tips(): Promise<(string | null)[]> {
    return [this.entries.at(-1)?.id ?? null];
  }

  async takeNew(group: string, _consumer: string, shards: readonly number[], count: number, blockMs: number): Promise<LogEntry[]> {
    if (!shards.includes(0)) return [];
    const state = this.group(group);
    if (this.available(state) === 0 && blockMs > 0) await this.waitForAppend(blockMs);
    const from = Math.max(state.next - this.base, this.expired);
    const taken = this.entries.slice(from, from + count);
    state.next = this.base + from + taken.length;
    for (const entry of taken) state.pending.set(entry.id, entry);
    return taken;
  }

  /** Entries this (only) process took and has not acknowledged, when it asks for them again. */
  async takeOver(group: string, _consumer: string, shard: number, _minIdleMs: number, count: number, cursor: string): Promise<TakenOver> {
    if (shard !== 0) return { entries: [], lost: 0, next: '0-0' };
    const after = [...this.group(group).pending.values()].filter((entry) => cursor === '0-0' || compareIds(entry.id, cursor) >= 0);
    const entries = after.slice(0, count);
    return { entries, lost: 0, next: after.length > count ? after[count]!.id : '0-0' };
  }

  async acknowledgedBelow(group: string): Promise<(string | null)[]> {
    const state = this.groups.get(group);
    if (state === undefined) return [null];
    const pending = [...state.pending.keys()].sort(compareIds)[0];
    const untaken = this.entries[Math.max(state.next - this.base, this.expired)]?.id;
    const candidates = [pending, untaken].filter((id): id is string => id !== undefined).sort(compareIds);
    return [candidates[0] ?? `${this.lastMs}-${this.lastSeq + 1}`];
  }

  /** Memory loses nothing while the process lives: nothing to restore. */
  async restore(): Promise<number> {
    return 0;
  }

  async ack(group: string, entries: readonly LogEntry[]): Promise<void> {
    const state = this.group(group);
    for (const entry of entries) state.pending.delete(entry.id);
  }

  async backlog(group: string): Promise<GroupBacklog> {
    const state = this.group(group);
    const untaken = this.entries.slice(Math.max(state.next - this.base, this.expired));
    const times = [...[...state.pending.values()].map((e) => e.at), ...(untaken.length > 0 ? [untaken[0]!.at] : [])];
    return { undelivered: state.pending.size + untaken.length, oldestAt: times.length === 0 ? null : Math.min(...times) };
  }

  private group(name: string): Group {
    let state = this.groups.get(name);
    if (state === undefined) {
      state = { next: this.base, pending: new Map() };
      this.groups.set(name, state);
    }
    return state;
  }

  private available(state: Group): number {
    return this.entries.length - Math.max(state.next - this.base, this.expired);
  }

  /** Index into `entries` of the first entry after `id`. */
  private indexAfter(id: string): number {
    let low = 0;
    let high = this.entries.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (compareIds(this.entries[mid]!.id, id) <= 0) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  private waitForAppend(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }

  /**
   * Drops entries a tenth past the retention (as the Redis log does: readers see the retention, relays
   * get the slack to dead-letter what was never delivered); compacted in bulk, not at every append.
   */
  private trim(now: number): void {
    const before = now - this.retentionMs - Math.floor(this.retentionMs / 10);
    while (this.expired < this.entries.length && this.entries[this.expired]!.at < before) this.expired += 1;
    if (this.entries.length - this.expired > this.maxEntries) {
      const drop = this.entries.length - this.expired - this.maxEntries;
      this.expired += drop;
      this.droppedThrough = this.entries[this.expired - 1]!.id;
    }
    if (this.expired > 1024 && this.expired * 2 > this.entries.length) {
      this.entries.splice(0, this.expired);
      this.base += this.expired;
      this.expired = 0;
    }
  }
}
