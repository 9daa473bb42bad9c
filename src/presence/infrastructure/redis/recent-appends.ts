import type { LogEntry } from '../../domain/transition-log.js';

/**
 * How long a pod keeps a copy of what it appended, counted in time the store was answering: well past
 * the log keepers' next read (every 500 ms), with room for a slow one, and for the recovery to run once
 * the store answers again. @default 5000
 */
export const RECENT_APPENDS_MS = 5_000;
/** Entries kept at most; the oldest go first. @default 50000 */
export const RECENT_APPENDS_MAX = 50_000;
/**
 * A longer time between two answers of the store counts as this much: it was unreachable (or this pod
 * had nothing to ask it, which only keeps entries a little longer). The sweeper alone asks every 250 ms.
 */
const MAX_GAP_MS = 1_000;

/**
 * What this pod's store calls appended to the transition log lately, with the ids the log gave them, and
 * what its viewer relay took from it (redis-transition-log.ts `taken`). The log keepers
 * (webhook-log-mirror.ts) copy the log every half second, and a shard's dispatcher reads it within
 * milliseconds; an entry appended just before Redis lost its data, whose dispatcher had died in the same
 * seconds, was in no copy (RELIABILITY.md, finding 9). The pod whose call appended it still holds it
 * here, and so does the pod that relayed it to viewers, which has it even when the appending pod's reply
 * was lost with Redis or that pod died (finding 14); each restore appends it again, once across the pods.
 *
 * An entry is dropped once the store has been answering for `keepMs` since it was appended: time in
 * which Redis was unreachable does not count (however long it takes to come back), so the entries of the
 * seconds before an outage are still here when the recovery runs.
 */
export class RecentAppends {
  /** `at`: the answering clock when it was appended. */
  private kept: Array<{ readonly at: number; readonly entry: LogEntry }> = [];
  private head = 0;
  /** Time the store was answering (ms), from the first answer on: gaps count at most MAX_GAP_MS. */
  private answering = 0;
  private lastAnswerAt: number | null = null;

  constructor(
    private readonly keepMs = RECENT_APPENDS_MS,
    private readonly now: () => number = Date.now,
    private readonly max = RECENT_APPENDS_MAX,
  ) {}

  add(entry: LogEntry): void {
    this.kept.push({ at: this.answering, entry });
    this.drop();
  }

  /** The store answered a call: time runs on for what is kept. */
  answered(): void {
    const now = this.now();
    if (this.lastAnswerAt !== null) this.answering += Math.min(Math.max(0, now - this.lastAnswerAt), MAX_GAP_MS);
    this.lastAnswerAt = now;
  }

  /** What was appended less than `keepMs` of answering ago, oldest first. */
  entries(): LogEntry[] {
    this.drop();
    return this.kept.slice(this.head).map(({ entry }) => entry);
  }

  private drop(): void {
    const before = this.answering - this.keepMs;
    while (this.head < this.kept.length && (this.kept[this.head]!.at <= before || this.kept.length - this.head > this.max)) this.head += 1;
    // Compacted once half is dropped: each entry is copied at most once more.
    if (this.head > 1_024 && this.head * 2 >= this.kept.length) {
      this.kept = this.kept.slice(this.head);
      this.head = 0;
    }
  }
}
