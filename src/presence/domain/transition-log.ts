import type { PresenceEvent } from './presence-state.js';

/**
 * One transition as the transition log keeps it: the event, where it sits in the log, and who made it.
 * Written in the same atomic step as the state change it describes (see the store port).
 */
export interface LogEntry {
  /** The log is split into shards, as the store's keys are; a streamer's entries are all in one. */
  readonly shard: number;
  /** Its position in its shard, `<ms>-<seq>` (a Redis Stream id): strictly increasing within the shard. */
  readonly id: string;
  readonly event: PresenceEvent;
  /** When the store made the transition, on the store's clock (ms since the epoch). */
  readonly at: number;
  /** The pod whose store call made it (for a `timeout`, the pod whose sweeper claimed the lease). */
  readonly pod: string;
  /**
   * Appended again after the log lost it (TransitionLog.restore), and the viewer relays had delivered it
   * before: by this time (ms, the clock of the pod that restored it). Only the webhooks still need it,
   * and the pods whose subscriptions went down before that time (redis-recovery.ts `replay`).
   */
  readonly viewersHad?: number;
}

/** Where a reader is in each shard: the id of the last entry it has, or null for "before the oldest kept". */
export type LogPosition = readonly (string | null)[];

/** The largest sequence number of a stream id (Redis's is a 64-bit unsigned integer). */
const MAX_SEQ = '18446744073709551615';

/**
 * An idle shard's position moves up to the log's clock minus this much: nothing can be appended to a
 * shard with an id below the clock at the time of the read (ids come from the same clock), and the
 * margin covers a clock that steps back a little. (A quarter of the retention when that is shorter, so
 * a fresh cursor is never already expired.)
 */
export const IDLE_POSITION_MARGIN_MS = 5_000;

interface ParsedId {
  readonly ms: number;
  readonly seq: bigint;
}

function parseId(id: string): ParsedId | null {
  const match = /^(\d{1,15})-(\d{1,20})$/.exec(id);
  if (match === null) return null;
  const seq = BigInt(match[2]!);
  return seq > BigInt(MAX_SEQ) ? null : { ms: Number(match[1]), seq };
}

/** Orders two ids of one shard (and, across shards, entries by time). */
export function compareIds(a: string, b: string): number {
  const [x, y] = [parseId(a)!, parseId(b)!];
  if (x.ms !== y.ms) return x.ms - y.ms;
  return x.seq < y.seq ? -1 : x.seq > y.seq ? 1 : 0;
}

/** In items of one shard in id order: the index of the first whose id is `id` or later (the length when none is). */
export function firstAtOrAfter(entries: ReadonlyArray<{ readonly id: string }>, id: string): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareIds(entries[middle]!.id, id) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Whether `id` is a well-formed log id (`<ms>-<seq>`). */
export function isLogId(id: string): boolean {
  return parseId(id) !== null;
}

export function idTime(id: string): number {
  return parseId(id)!.ms;
}

/** The greatest id below `id`: reading after it starts at `id` itself. */
export function idBefore(id: string): string {
  const { ms, seq } = parseId(id)!;
  return seq > 0n ? `${ms}-${seq - 1n}` : `${ms - 1}-${MAX_SEQ}`;
}

/** Log order across shards: by time, then by shard, so one streamer's entries (one shard) keep their order. */
export function byLogOrder(a: LogEntry, b: LogEntry): number {
  return idTime(a.id) - idTime(b.id) || a.shard - b.shard || compareIds(a.id, b.id);
}

/** Whether a reader at `position` has missed entries the log no longer keeps (older than the retention). */
export function isExpired(position: LogPosition, now: number, retentionMs: number): boolean {
  return position.some((id) => id !== null && idTime(id) < now - retentionMs);
}

export interface FeedPage {
  readonly items: readonly LogEntry[];
  readonly next: LogPosition;
}

/**
 * One page of the feed, from what each shard holds after `position` (`fetched[shard]`, in id order,
 * at most `limit` per shard, read at log time `now`): the oldest `limit` entries across shards, and the
 * position after them. A shard the page drained moves up to `now` less a margin, so a reader of a quiet
 * shard never falls behind the retention; a shard the page did not reach keeps its place, pinned to an
 * id (never "the oldest kept") so that entries trimmed before the next read are reported, not skipped.
 */
export function feedPage(
  fetched: readonly (readonly LogEntry[])[],
  position: LogPosition,
  limit: number,
  now: number,
  marginMs = IDLE_POSITION_MARGIN_MS,
): FeedPage {
  const items = fetched.flat().sort(byLogOrder).slice(0, limit);
  const next = position.map((current, shard) => {
    const mine = items.filter((entry) => entry.shard === shard);
    const all = fetched[shard] ?? [];
    if (mine.length > 0 && mine.length < all.length) return mine[mine.length - 1]!.id;
    if (all.length === 0 || (mine.length === all.length && all.length < limit)) return laterOf(current, mine.at(-1)?.id ?? null, idleId(now - marginMs));
    if (mine.length > 0) return mine[mine.length - 1]!.id;
    return current ?? idBefore(all[0]!.id);
  });
  return { items, next };
}

function idleId(ms: number): string {
  return `${Math.max(0, ms)}-0`;
}

function laterOf(...ids: (string | null)[]): string {
  return ids.filter((id): id is string => id !== null).reduce((a, b) => (compareIds(a, b) >= 0 ? a : b));
}
