import { Controller, Get, Inject, Param, Query, Req, UseGuards } from '@nestjs/common';
import type { Request } from 'express';
import { OperatorGuard } from '../../auth/operator.guard.js';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/app-config.js';
import { EventFeed } from '../application/event-feed.js';
import { ONLINE_SERIES, WEBHOOK_DELIVERIES } from '../application/injection-tokens.js';
import type { WebhookDeliveries, WebhookDelivery } from '../../webhooks/webhook-deliveries.port.js';
import { OccupancyService } from '../application/occupancy.service.js';
import { PodDirectory } from '../application/pod-directory.js';
import { PresenceService } from '../application/presence.service.js';
import type { OnlineSample, OnlineSeries } from '../domain/online-series.port.js';
import type { ConnectionView, PodView } from '../../dashboard/console-api.js';
import type { PresenceEvent, PresenceState } from '../domain/presence-state.js';
import type { TimelineEntry } from '../domain/timeline.js';
import { MAX_FEED_LIMIT, MAX_WAIT_MS, readFeedPage } from './events.controller.js';
import { describeConnectionId } from './connection-id.js';
import { decodeFeedCursor } from './feed-cursor.js';
import { badRequest, checkStreamerId, storeUnavailable } from './http-errors.js';
import { OneQueryValue, parseWholeNumber } from './query-params.js';

/** How far back the console's event list may start without a cursor: an hour. */
const MAX_SINCE_MS = 3_600_000;

interface ConsoleEvent {
  readonly cursor: string;
  readonly event: PresenceEvent;
  /** The pod that decided it. */
  readonly pod: string;
  /** When it was decided (the store's clock): for a `meta` event, `since` is still the online-since. */
  readonly at: number;
}

/**
 * The operators' console (beyond the contract; `operator` tokens only): what the page at `/` reads. Served
 * from what the service already keeps: the store, the pod registry, the transition log, the online series.
 */
@Controller('v1/console')
@UseGuards(OperatorGuard)
export class ConsoleController {
  constructor(
    private readonly presence: PresenceService,
    private readonly occupancy: OccupancyService,
    private readonly pods: PodDirectory,
    private readonly feed: EventFeed,
    @Inject(ONLINE_SERIES) private readonly series: OnlineSeries,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WEBHOOK_DELIVERIES) private readonly deliveries: WebhookDeliveries,
  ) {}

  /** At a glance: online now, the last hour's samples, and the live pods with their last beat. */
  @Get('overview')
  async overview(): Promise<{ now: number; online: number; series: OnlineSample[]; pods: PodView[] }> {
    const [online, series] = await Promise.all([this.presence.countOnline(), this.series.read()]).catch((error: unknown) => {
      throw storeUnavailable(error);
    });
    return { now: Date.now(), online, series, pods: this.pods.live().sort((a, b) => (a.name < b.name ? -1 : 1)) };
  }

  /**
   * The transition log as `GET /v1/events` reads it, with the deciding pod; without `after`, from
   * `sinceMs` ago (default 5 min). The page keeps `nextCursor`, so after a cut it reads on from there.
   */
  @Get('events')
  async events(
    @Query('after', OneQueryValue) after: string | undefined,
    @Query('sinceMs', OneQueryValue) sinceText: string | undefined,
    @Query('limit', OneQueryValue) limitText: string | undefined,
    @Query('waitMs', OneQueryValue) waitText: string | undefined,
    @Req() request: Request,
  ): Promise<{ items: ConsoleEvent[]; nextCursor: string }> {
    const limit = parseWholeNumber('limit', limitText, 500, 1, MAX_FEED_LIMIT);
    const waitMs = parseWholeNumber('waitMs', waitText, 0, 0, MAX_WAIT_MS);
    const sinceMs = parseWholeNumber('sinceMs', sinceText, 300_000, 0, MAX_SINCE_MS);
    const layout = this.feed.layout;
    const position =
      after === undefined ? Array.from({ length: this.feed.shardCount }, () => `${Math.max(0, Date.now() - sinceMs)}-0`) : decodeFeedCursor(after, this.feed.shardCount, layout);
    if (position === null) throw badRequest('invalid_cursor', 'after is not a cursor this feed returned');
    const page = await readFeedPage(this.feed, position, limit, waitMs, request);
    return { items: page.items.map(({ cursor, entry }) => ({ cursor, event: entry.event, pod: entry.pod, at: entry.at })), nextCursor: page.nextCursor };
  }

  /**
   * One streamer: presence, occupancy, the connections its record holds, its recent timeline, and its
   * webhooks' latest outcome per transition (null when webhooks are off).
   */
  @Get('streamers/:id')
  async streamer(@Param('id') id: string): Promise<{
    streamerId: string;
    presence: PresenceState;
    viewers: number;
    connections: ConnectionView[];
    timeline: TimelineEntry[];
    webhooks: WebhookDelivery[] | null;
  }> {
    checkStreamerId(id);
    const [[presence], viewers, leases, timeline, outcomes] = await Promise.all([
      this.presence.snapshot([id]),
      this.occupancy.viewersOf(id),
      this.presence.connections(id),
      this.presence.timeline(id, 20),
      this.config.webhookUrl === null ? null : this.deliveries.recent(id),
    ]).catch((error: unknown) => {
      throw storeUnavailable(error);
    });
    const connections = leases.map(({ connectionId, liveUntil, closed, parked }): ConnectionView => ({
      connectionId,
      ...describeConnectionId(connectionId),
      state: closed ? 'closed' : parked ? 'parked' : 'open',
      liveUntil,
      lastSeenAt: liveUntil - (closed ? this.config.reconnectGraceMs : this.config.presenceTtlMs),
    }));
    return { streamerId: id, presence: presence!, viewers, connections, timeline, webhooks: outcomes === null ? null : latestPerTransition(outcomes) };
  }
}

/** The newest outcome of each transition (outcomes come newest first). */
function latestPerTransition(outcomes: readonly WebhookDelivery[]): WebhookDelivery[] {
  const seen = new Set<number>();
  return outcomes.filter(({ version }) => !seen.has(version) && seen.add(version) !== undefined);
}
