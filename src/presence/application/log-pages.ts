import type { LogEntry } from '../domain/transition-log.js';
import type { TransitionLog } from '../domain/transition-log.port.js';

/**
 * Reads `log` after `position` (one id per shard, null: from the oldest kept), `count` entries per shard
 * a page, handing each page to `onPage`, until a page is short on every shard, `maxPages` were read, or
 * `goOn()` says stop. Moves `position` past what it read, in place, so a caller that keeps it reads on
 * from there next time.
 */
export async function readLogPages(
  log: TransitionLog,
  position: (string | null)[],
  count: number,
  onPage: (shards: LogEntry[][]) => void,
  options: { readonly maxPages?: number; readonly goOn?: () => boolean } = {},
): Promise<void> {
  const { maxPages = Number.POSITIVE_INFINITY, goOn = () => true } = options;
  for (let page = 0; page < maxPages; page += 1) {
    const { shards } = await log.readAfter(position, count);
    onPage(shards);
    for (const [shard, entries] of shards.entries()) if (entries.length > 0) position[shard] = entries.at(-1)!.id;
    if (shards.every((entries) => entries.length < count) || !goOn()) return;
  }
}
