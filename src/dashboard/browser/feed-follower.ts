import type { ConsoleEvent } from './event-list.js';

/** What the feed loop tells the page: following live, or cut and retrying from its cursor. */
export type FeedState = 'live' | 'reconnecting';

interface Page {
  readonly items: Array<ConsoleEvent & { cursor: string }>;
  readonly nextCursor: string;
}

/** How far back the console starts: the last five minutes of transitions. */
const START_SINCE_MS = 5 * 60_000;
const WAIT_MS = 20_000;

/**
 * Follows the transition log through `GET /v1/console/events`: a long poll that always resumes from the
 * last cursor it was given, so whatever cut the page off (a network drop, a pod restarting), it reads on
 * from there and shows no gap. Stops when `get` throws `stop`.
 */
export async function followFeed(
  get: (path: string) => Promise<Response>,
  onEvents: (events: ConsoleEvent[], backfill: boolean) => void,
  onState: (state: FeedState) => void,
): Promise<void> {
  let cursor: string | null = null;
  let failures = 0;
  for (;;) {
    const path: string =
      cursor === null ? `/v1/console/events?sinceMs=${START_SINCE_MS}&limit=1000` : `/v1/console/events?after=${encodeURIComponent(cursor)}&limit=1000&waitMs=${WAIT_MS}`;
    try {
      const response = await get(path);
      if (response.status === 410) {
        // Older than the retention (a page left open for a day): start again from the recent past.
        cursor = null;
        continue;
      }
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const page = (await response.json()) as Page;
      onEvents(page.items, failures > 0);
      cursor = page.nextCursor;
      failures = 0;
      onState('live');
    } catch (error) {
      if (error instanceof StopFollowing) return;
      failures += 1;
      onState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** failures)));
    }
  }
}

/** Thrown by `get` to end the loop (the operator's token was refused). */
export class StopFollowing extends Error {}
