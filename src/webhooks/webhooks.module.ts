import { type DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config.js';
import type { TransitionLog } from '../presence/domain/transition-log.port.js';
import { RedisShardLeases } from '../presence/infrastructure/redis/redis-shard-leases.js';
import { RedisTransitionLog } from '../presence/infrastructure/redis/redis-transition-log.js';
import { SingleNodeOwnership } from '../presence/infrastructure/single-node-ownership.js';
import { TRANSITION_LOG } from '../presence/application/injection-tokens.js';
import type { RedisConnections } from '../redis/redis-connections.js';
import { LEASE_TTL_MS, WEBHOOK_LOG, WEBHOOK_OWNERSHIP, WEBHOOK_SENDER, WEBHOOKS_GROUP, WebhookDispatcher } from './webhook-dispatcher.js';
import { ViewersDelivered } from './viewers-delivered.js';
import { WebhookLogMirror } from './webhook-log-mirror.js';
import { HttpWebhookSender } from './webhook-sender.js';

/**
 * Webhooks (WEBHOOK_URL set): the dispatcher, fed from the transition log. In Redis mode it reads the
 * log on a blocking connection of its own (the viewer relay holds the other) and owns shards by lease;
 * in embedded mode it reads the memory store's log and owns its only shard.
 */
@Module({})
export class WebhooksModule {
  static forRoot(config: AppConfig, redis: RedisConnections | null, presence: DynamicModule): DynamicModule {
    const url = config.webhookUrl!;
    const key = config.webhookSecret!;
    return {
      module: WebhooksModule,
      imports: [presence],
      providers: [
        {
          provide: WEBHOOK_LOG,
          inject: [TRANSITION_LOG],
          useFactory: (log: TransitionLog) =>
            redis === null ? log : new RedisTransitionLog(redis.command, redis.webhooks!, redis.keys, config.eventLogRetentionMs),
        },
        {
          provide: WEBHOOK_OWNERSHIP,
          inject: [WEBHOOK_LOG],
          useFactory: (log: TransitionLog) =>
            redis === null
              ? new SingleNodeOwnership(log.shardCount)
              : new RedisShardLeases(redis.command, config.redisKeyPrefix, redis.keys, WEBHOOKS_GROUP, config.podId, LEASE_TTL_MS),
        },
        { provide: WEBHOOK_SENDER, useValue: new HttpWebhookSender(url, key) },
        WebhookDispatcher,
        ViewersDelivered,
        // Only Redis loses the log while the pods live (a restart empty): memory's lives with its pod.
        ...(redis === null ? [] : [WebhookLogMirror]),
      ],
    };
  }
}
