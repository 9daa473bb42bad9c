import { type DynamicModule, Module } from '@nestjs/common';
import type { RedisConnections } from './redis-connections.js';
import { REDIS_CONNECTIONS, RedisRecovery } from './redis-recovery.js';

/** Redis mode's lifecycle (readiness, recovery); the store and adapter get their connections directly. */
@Module({})
export class RedisModule {
  static forRoot(redis: RedisConnections, presence: DynamicModule): DynamicModule {
    return {
      module: RedisModule,
      imports: [presence],
      providers: [{ provide: REDIS_CONNECTIONS, useValue: redis }, RedisRecovery],
    };
  }
}
