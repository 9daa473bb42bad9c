import type { LogEntry } from '../../domain/transition-log.js';

/**
 * How long a pod keeps a copy of what it appended: well past the log keepers' next read (every 500 ms),
 * with room for a slow one. @default 5000
 */
export const RECENT_APPENDS_MS = 5_000;
/** Entries kept at most (about 300 bytes each); the oldest go first. @default 50000 */
export const RECENT_APPENDS_MAX = 50_000;

/**
 * What this pod's store calls appended to the transition log in the last few seconds, with the ids the
 * log gave them. The log keepers (webhook-log-mirror.ts) copy the log every half second, and a shard's
 * dispatcher reads it within milliseconds; an entry appended just before Redis lost its data, whose
 * dispatcher had died in the same seconds, was in no copy (RELIABILITY.md, finding 9). The pod whose
 * call appended it still holds it here, and its restore appends it again.
 */
export class RecentAppends {
  private kept: Array<{ readonly until: number; readonly entry: LogEntry }> = [];
  private head = 0;

  constructor(
    private readonly keepMs = RECENT_APPENDS_MS,
    private readonly now: () => number = Date.now,
    private readonly max = RECENT_APPENDS_MAX,
  ) {}

  add(entry: LogEntry): void {
    this.kept.push({ until: this.now() + this.keepMs, entry });
    this.drop();
  }

  /** What was appended in the last `keepMs`, oldest first. */
  entries(): LogEntry[] {
    this.drop();
    return this.kept.slice(this.head).map(({ entry }) => entry);
  }

  private drop(): void {
    const now = this.now();
    while (this.head < this.kept.length && (this.kept[this.head]!.until <= now || this.kept.length - this.head > this.max)) this.head += 1;
    // Compacted once half is dropped: each entry is copied at most once more.
    if (this.head > 1_024 && this.head * 2 >= this.kept.length) {
      this.kept = this.kept.slice(this.head);
      this.head = 0;
    }
  }
}
