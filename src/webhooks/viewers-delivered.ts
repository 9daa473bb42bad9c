import { Injectable } from '@nestjs/common';
import type { LogEntry } from '../presence/domain/transition-log.js';

/**
 * For every restore of this pod (the webhook log copy's after an outage, the dispatcher's when it loses
 * a shard), when the viewer relays had delivered an entry the log lost (`LogEntry.viewersHad`). The
 * webhook log copy knows it (webhook-log-mirror.ts) and answers here; a pod that keeps no copy, or an
 * entry not in it, gets no answer, and the entry goes back to the viewers as well (a repeat at worst).
 * Apart from both, so that the dispatcher, which the copy reads, can ask too: after a Redis restart it
 * often loses its shards, and restores what it held, before the pod's recovery restores the copy.
 */
@Injectable()
export class ViewersDelivered {
  private lookup: (entry: LogEntry) => number | undefined = () => undefined;

  /** Set by the webhook log copy. */
  answerWith(lookup: (entry: LogEntry) => number | undefined): void {
    this.lookup = lookup;
  }

  /** When (ms) the viewer relays were known to have delivered `entry` of the lost log; undefined: not known. */
  readonly at = (entry: LogEntry): number | undefined => this.lookup(entry);

  /**
   * The marks of `entries` that have one, taken now, before a restore's calls: meanwhile the copy may be
   * read again (a new log's ids), and what is asked later goes back unmarked.
   */
  marksOf(entries: readonly LogEntry[]): Map<LogEntry, number> {
    const marks = new Map<LogEntry, number>();
    for (const entry of entries) {
      const at = this.lookup(entry);
      if (at !== undefined) marks.set(entry, at);
    }
    return marks;
  }
}
