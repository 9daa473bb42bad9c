import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { HealthModule } from './health/health.module.js';
import { DrainService } from './lifecycle/drain.service.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { PresenceModule } from './presence/presence.module.js';

/** The composition root: everything that differs between embedded and Redis mode is chosen here from config. */
@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    const presence = PresenceModule.forRoot(config);
    return {
      module: AppModule,
      imports: [ConfigModule.forRoot(config), MetricsModule, HealthModule, presence],
      controllers: [MetricsController],
      providers: [DrainService],
    };
  }
}
