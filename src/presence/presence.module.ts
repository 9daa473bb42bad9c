import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { AuthModule } from '../auth/auth.module.js';
import { MetricsService } from '../metrics/metrics.service.js';
import {
  OCCUPANCY_STORE,
  ONLINE_SERIES,
  POD_CHANNEL,
  WEBHOOK_DELIVERIES,
  POD_REGISTRY,
  PRESENCE_PUBLISHER,
  PRESENCE_STORE,
  PUBLISH_FENCE,
  RECENT_APPENDS,
  SUBSCRIPTION_FENCE,
  TRANSITION_LOG,
} from './application/injection-tokens.js';
import { OccupancyService } from './application/occupancy.service.js';
import { OnlineSampler } from './application/online-sampler.js';
import { MemoryOnlineSeries } from './infrastructure/memory-online-series.js';
import { RedisOnlineSeries } from './infrastructure/redis/redis-online-series.js';
import { ConsoleController } from './transport/console.controller.js';
import { MemoryWebhookDeliveries } from '../webhooks/memory-webhook-deliveries.js';
import { RedisWebhookDeliveries } from '../webhooks/redis-webhook-deliveries.js';
import { POD_CLEANUP_MS, POD_TTL_MS, PodDirectory } from './application/pod-directory.js';
import { MemoryOccupancyStore } from './infrastructure/memory-occupancy.store.js';
import { MemoryPodRegistry } from './infrastructure/memory-pod-registry.js';
import { RedisOccupancyStore } from './infrastructure/redis/redis-occupancy.store.js';
import { RedisPodRegistry } from './infrastructure/redis/redis-pod-registry.js';
import { LocalPodChannel } from './infrastructure/local-pod-channel.js';
import { RedisPodChannel } from './infrastructure/redis/redis-pod-channel.js';
import { PresenceService } from './application/presence.service.js';
import { RecoverySteps } from './application/recovery-steps.js';
import { EventFeed } from './application/event-feed.js';
import { Sweeper } from './application/sweeper.js';
import { ViewerRelay } from './application/viewer-relay.js';
import { MemoryPresenceStore } from './infrastructure/memory-presence.store.js';
import { MemoryTransitionLog } from './infrastructure/memory-transition-log.js';
import { REPLICA_WAIT_MS, ReplicaWait } from '../redis/replica-wait.js';
import { RedisPresenceStore } from './infrastructure/redis/redis-presence.store.js';
import { RecentAppends } from './infrastructure/redis/recent-appends.js';
import { RedisTransitionLog } from './infrastructure/redis/redis-transition-log.js';
import type { RedisConnections } from '../redis/redis-connections.js';
import { DashboardGateway } from './transport/dashboard.gateway.js';
import { EventsController } from './transport/events.controller.js';
import { PresenceController } from './transport/presence.controller.js';
import { StreamerGateway } from './transport/streamer.gateway.js';
import { ViewerBroadcaster } from './transport/viewer-broadcaster.js';
import { ViewerGateway } from './transport/viewer.gateway.js';

/**
 * Presence: the store and its transition log chosen from config, the service, sweeper and viewer
 * relay, and the gateways and routes at its edge.
 */
@Module({})
export class PresenceModule {
  /** `redis` null: embedded single-node mode. */
  static forRoot(config: AppConfig, redis: RedisConnections | null): DynamicModule {
    // Embedded mode: the store writes the log it is given; relays and the feed read that same log.
    const memoryLog = redis === null ? new MemoryTransitionLog(config.eventLogRetentionMs, Date.now, config.eventLogMaxEntries) : null;
    // Redis mode with webhooks: a copy of what this pod appended and its viewer relay took, for a few
    // seconds, which the webhook log's restore appends again if Redis loses it (RecentAppends); without
    // webhooks nothing reads it.
    const recentAppends = redis === null || config.webhookUrl === null ? null : new RecentAppends();
    const store: Provider = {
      provide: PRESENCE_STORE,
      inject: [MetricsService],
      useFactory: (metrics: MetricsService) =>
        redis === null
          ? new MemoryPresenceStore(config, Date.now, config.podId, memoryLog!)
          : new RedisPresenceStore(
              redis.command,
              redis.keys,
              config,
              config.podId,
              config.eventLogRetentionMs,
              metrics.observeStore,
              null,
              // Sentinel and Cluster run replicas: a transition is answered once one has it.
              config.redis?.kind === 'single' ? null : new ReplicaWait(redis.command, REPLICA_WAIT_MS),
              recentAppends,
            ),
    };
    const log: Provider = {
      provide: TRANSITION_LOG,
      useValue: memoryLog ?? new RedisTransitionLog(redis!.command, redis!.relay, redis!.keys, config.eventLogRetentionMs, recentAppends),
    };
    const appended: Provider = { provide: RECENT_APPENDS, useValue: () => recentAppends?.entries() ?? [] };
    const fence: Provider = {
      provide: SUBSCRIPTION_FENCE,
      useValue: redis === null ? async () => true : () => redis.subscriptionsSettled(),
    };
    // In-process emits have left the pod once made; through Redis, once the publisher's PING returns.
    const published: Provider = { provide: PUBLISH_FENCE, useValue: redis === null ? async () => {} : () => redis.published() };
    const occupancy: Provider = {
      provide: OCCUPANCY_STORE,
      useValue: redis === null ? new MemoryOccupancyStore() : new RedisOccupancyStore(redis.command, redis.keys),
    };
    const pods: Provider = {
      provide: POD_REGISTRY,
      useValue: redis === null ? new MemoryPodRegistry() : new RedisPodRegistry(redis.command, config.redisKeyPrefix, POD_TTL_MS, POD_CLEANUP_MS),
    };
    const series: Provider = {
      provide: ONLINE_SERIES,
      useValue: redis === null ? new MemoryOnlineSeries() : new RedisOnlineSeries(redis.command, config.redisKeyPrefix),
    };
    const podChannel: Provider = {
      provide: POD_CHANNEL,
      useValue: redis === null ? new LocalPodChannel() : new RedisPodChannel(redis.publisher, redis.subscriber, config.redisKeyPrefix, config.podId),
    };
    const deliveries: Provider = {
      provide: WEBHOOK_DELIVERIES,
      useValue: redis === null ? new MemoryWebhookDeliveries() : new RedisWebhookDeliveries(redis.command, redis.keys, config.eventLogRetentionMs),
    };
    return {
      module: PresenceModule,
      imports: [AuthModule.forRoot(config.jwtSecret)],
      controllers: [PresenceController, EventsController, ConsoleController],
      providers: [
        store,
        log,
        appended,
        fence,
        published,
        occupancy,
        pods,
        series,
        deliveries,
        podChannel,
        PodDirectory,
        OnlineSampler,
        OccupancyService,
        PresenceService,
        RecoverySteps,
        Sweeper,
        ViewerRelay,
        EventFeed,
        StreamerGateway,
        ViewerGateway,
        DashboardGateway,
        ViewerBroadcaster,
        { provide: PRESENCE_PUBLISHER, useExisting: ViewerBroadcaster },
      ],
      exports: [PresenceService, RecoverySteps, OccupancyService, PodDirectory, WEBHOOK_DELIVERIES, TRANSITION_LOG, RECENT_APPENDS, StreamerGateway, ViewerGateway, DashboardGateway, ViewerBroadcaster],
    };
  }
}
