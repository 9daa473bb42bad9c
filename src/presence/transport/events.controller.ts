import { Controller, Get, HttpException, HttpStatus, Query, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { OperatorGuard } from '../../auth/operator.guard.js';
import { EventFeed } from '../application/event-feed.js';
import type { PresenceEvent } from '../domain/presence-state.js';
import type { LogEntry, LogPosition } from '../domain/transition-log.js';
import { decodeFeedCursor, encodeFeedCursor } from './feed-cursor.js';
import { badRequest, storeUnavailable } from './http-errors.js';
import { OneQueryValue, parseWholeNumber } from './query-params.js';

export const DEFAULT_FEED_LIMIT = 100;
export const MAX_FEED_LIMIT = 1000;
export const MAX_WAIT_MS = 30_000;

interface FeedResponse {
  readonly items: ReadonlyArray<{ cursor: string; event: PresenceEvent }>;
  readonly nextCursor: string;
}

/**
 * `GET /v1/events` (operator): every transition the log keeps, oldest first, one streamer's in version
 * order, with opaque cursors and a long poll. For backends that must not miss a transition (close a
 * stream record, bill hours): read, process, keep `nextCursor`, read again.
 */
@Controller('v1/events')
@UseGuards(OperatorGuard)
export class EventsController {
  constructor(private readonly feed: EventFeed) {}

  @Get()
  async events(
    @Query('after', OneQueryValue) after: string | undefined,
    @Query('limit', OneQueryValue) limitText: string | undefined,
    @Query('waitMs', OneQueryValue) waitText: string | undefined,
    @Req() request: Request,
  ): Promise<FeedResponse> {
    const limit = parseWholeNumber('limit', limitText, DEFAULT_FEED_LIMIT, 1, MAX_FEED_LIMIT);
    const waitMs = parseWholeNumber('waitMs', waitText, 0, 0, MAX_WAIT_MS);
    const layout = this.feed.layout;
    const position = after === undefined ? null : decodeFeedCursor(after, this.feed.shardCount, layout);
    if (after !== undefined && position === null) throw badRequest('invalid_cursor', 'after is not a cursor this feed returned');
    const page = await readFeedPage(this.feed, position, limit, waitMs, request);
    return { items: page.items.map(({ cursor, entry }) => ({ cursor, event: entry.event })), nextCursor: page.nextCursor };
  }
}

/**
 * A page of the feed for an HTTP reader: the long poll stops when the client leaves; a store that cannot
 * be reached is 503, a position older than the retention 410 `cursor_expired`. Shared with the console.
 */
export async function readFeedPage(
  feed: EventFeed,
  position: LogPosition | null,
  limit: number,
  waitMs: number,
  request: Request,
): Promise<{ items: Array<{ cursor: string; entry: LogEntry }>; nextCursor: string }> {
  const layout = feed.layout;
  let left = false;
  request.once('close', () => (left = true));
  const read = await feed.read(position, limit, waitMs, () => left).catch((error: unknown) => {
    throw storeUnavailable(error);
  });
  if (read.kind === 'expired') {
    throw new HttpException(
      { error: { code: 'cursor_expired', message: 'the events after this cursor are older than the retention and gone; start again without `after`' } },
      HttpStatus.GONE,
    );
  }
  return { items: read.items.map(({ entry, position: at }) => ({ cursor: encodeFeedCursor(at, layout), entry })), nextCursor: encodeFeedCursor(read.next, layout) };
}
