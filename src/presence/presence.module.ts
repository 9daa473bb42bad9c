import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import { AuthModule } from '../auth/auth.module.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PRESENCE_PUBLISHER, PRESENCE_STORE, SUBSCRIPTION_FENCE } from './application/injection-tokens.js';
import { PresenceService } from './application/presence.service.js';
import { Sweeper } from './application/sweeper.js';
import { MemoryPresenceStore } from './infrastructure/memory-presence.store.js';
import { RedisPresenceStore } from './infrastructure/redis/redis-presence.store.js';
import type { RedisConnections } from '../redis/redis-connections.js';
import { DashboardGateway } from './transport/dashboard.gateway.js';
import { PresenceController } from './transport/presence.controller.js';
import { StreamerGateway } from './transport/streamer.gateway.js';
import { ViewerBroadcaster } from './transport/viewer-broadcaster.js';
import { ViewerGateway } from './transport/viewer.gateway.js';

/** Presence: the store chosen from config, the service and sweeper, and the gateways and routes at its edge. */
@Module({})
export class PresenceModule {
  /** `redis` null: embedded single-node mode. */
  static forRoot(config: AppConfig, redis: RedisConnections | null): DynamicModule {
    const store: Provider = {
      provide: PRESENCE_STORE,
      inject: [MetricsService],
      useFactory: (metrics: MetricsService) =>
        redis === null
          ? new MemoryPresenceStore(config, Date.now, config.podId)
          : new RedisPresenceStore(redis.command, config.redisKeyPrefix, config, config.podId, metrics.observeStore),
    };
    const fence: Provider = {
      provide: SUBSCRIPTION_FENCE,
      useValue: redis === null ? async () => {} : () => redis.subscriptionsSettled(),
    };
    return {
      module: PresenceModule,
      imports: [AuthModule.forRoot(config.jwtSecret)],
      controllers: [PresenceController],
      providers: [
        store,
        fence,
        PresenceService,
        Sweeper,
        StreamerGateway,
        ViewerGateway,
        DashboardGateway,
        ViewerBroadcaster,
        { provide: PRESENCE_PUBLISHER, useExisting: ViewerBroadcaster },
      ],
      exports: [PresenceService, StreamerGateway, ViewerGateway, DashboardGateway, ViewerBroadcaster],
    };
  }
}
