import { Controller, Get, Param, Query, UseGuards } from '@nestjs/common';
import { OperatorGuard } from '../../auth/operator.guard.js';
import { OccupancyService } from '../application/occupancy.service.js';
import { PresenceService } from '../application/presence.service.js';
import type { PresenceState } from '../domain/presence-state.js';
import { TIMELINE_LENGTH, type TimelineEntry } from '../domain/timeline.js';
import { OneAtATime } from '../../http/one-at-a-time.js';
import { badRequest, checkStreamerId, storeUnavailable } from './http-errors.js';
import { decodeCursor, encodeCursor } from './online-cursor.js';
import { OneQueryValue, parseWholeNumber } from './query-params.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;

/** HTTP presence reads. Public, like anonymous viewers (presence is what any viewer may watch), but for the timeline. */
@Controller('v1/streamers')
export class PresenceController {
  private readonly listings = new OneAtATime();

  constructor(
    private readonly presence: PresenceService,
    private readonly occupancy: OccupancyService,
  ) {}

  @Get(':id/presence')
  async one(@Param('id') id: string): Promise<PresenceState> {
    checkStreamerId(id);
    const [state] = await this.presence.snapshot([id]).catch((error: unknown) => {
      throw storeUnavailable(error);
    });
    return state!;
  }

  /** Viewer sockets subscribed to the streamer, cluster-wide; public, like presence. At most a few seconds old. */
  @Get(':id/occupancy')
  async viewers(@Param('id') id: string): Promise<{ streamerId: string; viewers: number }> {
    checkStreamerId(id);
    const viewers = await this.occupancy.viewersOf(id).catch((error: unknown) => {
      throw storeUnavailable(error);
    });
    return { streamerId: id, viewers };
  }

  /** The streamer's recent transitions, newest first: "why was X offline at 12:03", and which pod said so. Operators only. */
  @Get(':id/timeline')
  @UseGuards(OperatorGuard)
  async timeline(
    @Param('id') id: string,
    @Query('limit', OneQueryValue) limitText: string | undefined,
  ): Promise<{ streamerId: string; items: TimelineEntry[] }> {
    checkStreamerId(id);
    const limit = parseWholeNumber('limit', limitText, TIMELINE_LENGTH, 1, TIMELINE_LENGTH);
    const items = await this.presence.timeline(id, limit).catch((error: unknown) => {
      throw storeUnavailable(error);
    });
    return { streamerId: id, items };
  }

  @Get()
  async online(
    @Query('status', OneQueryValue) status: string | undefined,
    @Query('limit', OneQueryValue) limitText: string | undefined,
    @Query('cursor', OneQueryValue) cursor: string | undefined,
  ): Promise<{ items: readonly PresenceState[]; nextCursor: string | null }> {
    if (status !== undefined && status !== 'online') {
      throw badRequest('invalid_query', 'status must be "online" (offline streamers are not listed)');
    }
    const limit = parseWholeNumber('limit', limitText, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
    const afterId = cursor === undefined || cursor === '' ? null : decodeCursor(cursor);
    if (cursor !== undefined && cursor !== '' && afterId === null) throw badRequest('invalid_query', 'cursor is not valid');
    const page = await this.listings.run(() => this.presence.listOnline(afterId, limit)).catch((error: unknown) => {
      throw storeUnavailable(error);
    });
    return { items: page.items, nextCursor: page.lastId === null ? null : encodeCursor(page.lastId) };
  }
}

