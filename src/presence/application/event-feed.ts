import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/app-config.js';
import { compareIds, feedPage, IDLE_POSITION_MARGIN_MS, isExpired, type LogEntry, type LogPosition } from '../domain/transition-log.js';
import type { TransitionLog } from '../domain/transition-log.port.js';
import { TRANSITION_LOG } from './injection-tokens.js';

/** How often a long poll looks at the log again while it waits. */
const POLL_MS = 100;

export type FeedRead =
  | { readonly kind: 'page'; readonly items: ReadonlyArray<{ entry: LogEntry; position: LogPosition }>; readonly next: LogPosition }
  | { readonly kind: 'expired' };

/**
 * The event feed for operators and backends: the transition log, paged across its shards in log order
 * (one streamer's events in version order), with a long poll. Positions are per shard; the transport
 * turns them into opaque cursors.
 */
@Injectable()
export class EventFeed {
  private tipsRead: { at: number; tips: Promise<(string | null)[]> } | null = null;

  constructor(
    @Inject(TRANSITION_LOG) private readonly log: TransitionLog,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  get shardCount(): number {
    return this.log.shardCount;
  }

  get layout(): string {
    return this.log.layout;
  }

  /**
   * Up to `limit` entries after `after` (null: from the oldest kept); when there are none, waits up to
   * `waitMs` for one (stopping early when `gone` says the client left). `expired` when `after` is older
   * than the retention: entries it had not read are gone.
   */
  async read(after: LogPosition | null, limit: number, waitMs: number, gone: () => boolean = () => false): Promise<FeedRead> {
    const start = after ?? Array.from({ length: this.log.shardCount }, () => null);
    const layout = this.log.layout;
    const giveUpAt = Date.now() + waitMs;
    for (;;) {
      // The shard layout changed under the reader (docs/OPERATIONS.md): its positions name other
      // shards now, so it starts again, as after the retention.
      if (this.log.layout !== layout) return { kind: 'expired' };
      const { now, shards, droppedThrough = [] } = await this.log.readAfter(start, limit);
      const dropped = start.some((id, shard) => id !== null && droppedThrough[shard] != null && compareIds(id, droppedThrough[shard]!) < 0);
      if (dropped || isExpired(start, now, this.config.eventLogRetentionMs)) return { kind: 'expired' };
      const page = feedPage(shards, start, limit, now, Math.min(IDLE_POSITION_MARGIN_MS, this.config.eventLogRetentionMs / 4));
      if (page.items.length > 0 || Date.now() >= giveUpAt || gone()) return { kind: 'page', items: withPositions(start, page.items), next: page.next };
      // Wait until a shard's newest entry is past this position: one cheap look per POLL_MS for every
      // long poll of this pod together, and a full read only when there is something to read.
      while (Date.now() < giveUpAt && !gone()) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, giveUpAt - Date.now()))));
        const tips = await this.sharedTips();
        if (tips.some((tip, shard) => tip !== null && (start[shard] === null || compareIds(tip, start[shard]!) > 0))) break;
      }
    }
  }

  /** The log's tips, read at most once per POLL_MS for all the long polls waiting on this pod. */
  private sharedTips(): Promise<(string | null)[]> {
    if (this.tipsRead === null || Date.now() - this.tipsRead.at >= POLL_MS) {
      this.tipsRead = { at: Date.now(), tips: this.log.tips() };
    }
    return this.tipsRead.tips;
  }
}

/** Each entry with the position just after it: a reader that stops there resumes at the next entry. */
function withPositions(start: LogPosition, entries: readonly LogEntry[]): Array<{ entry: LogEntry; position: LogPosition }> {
  const position = [...start];
  return entries.map((entry) => {
    position[entry.shard] = entry.id;
    return { entry, position: [...position] };
  });
}
