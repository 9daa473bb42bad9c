import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { HealthModule } from './health/health.module.js';
import { DrainService } from './lifecycle/drain.service.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PresenceModule } from './presence/presence.module.js';
import type { RedisConnections } from './redis/redis-connections.js';
import { RedisModule } from './redis/redis.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

/** The composition root: everything that differs between embedded and Redis mode is chosen here from config. */
@Module({})
export class AppModule {
  /** `redis` null: embedded single-node mode (in-memory store, in-process adapter). */
  static forRoot(config: AppConfig, redis: RedisConnections | null): DynamicModule {
    const presence = PresenceModule.forRoot(config, redis);
    const redisMode = redis === null ? [] : [RedisModule.forRoot(redis, presence)];
    const webhooks = config.webhookUrl === null ? [] : [WebhooksModule.forRoot(config, redis, presence)];
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), MetricsModule, HealthModule, presence, ...redisMode, ...webhooks],
      controllers: [MetricsController],
      providers: [DrainService],
    };
  }
}
