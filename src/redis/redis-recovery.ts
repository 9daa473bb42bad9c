import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { Readiness } from '../health/readiness.js';
import { OutageLog } from '../logging/outage-log.js';
import { PresenceService } from '../presence/application/presence.service.js';
import { ViewerBroadcaster } from '../presence/transport/viewer-broadcaster.js';
import { RedisConnections } from './redis-connections.js';
import { ShardLayoutSync } from './shard-layout-sync.js';

/** How often the pod reads the deployment's shard layout (a pod that moves it is followed this fast). */
const LAYOUT_SYNC_MS = 1_000;

export const REDIS_CONNECTIONS = Symbol('RedisConnections');

/**
 * What a pod does about Redis coming and going: it is unready while Redis is unusable, and when Redis
 * is back (possibly empty) it re-asserts its live streamer connections and tells its viewers to resync,
 * since events published meanwhile may be lost. The same when the deployment's shard layout changes
 * (ShardLayoutSync): presence is then written under other keys, which start empty.
 */
@Injectable()
export class RedisRecovery implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RedisRecovery.name);
  private readonly layout: ShardLayoutSync;
  private layoutTimer: NodeJS.Timeout | null = null;
  private syncing = false;
  private readonly layoutOutage = new OutageLog(this.logger, 'shard layout not read; retrying every second', 'shard layout read again');

  constructor(
    @Inject(REDIS_CONNECTIONS) private readonly redis: RedisConnections,
    private readonly readiness: Readiness,
    private readonly presence: PresenceService,
    private readonly broadcaster: ViewerBroadcaster,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.layout = new ShardLayoutSync(redis.command, config.redisKeyPrefix, config.redisShards, redis.keys.layout);
  }

  onApplicationBootstrap(): void {
    this.readiness.addCheck(() => this.redis.problem());
    this.redis.onRecovered(() => void this.recover('recovered from redis outage'));
    this.redis.start();
    this.layoutTimer = setInterval(() => void this.syncLayout(), LAYOUT_SYNC_MS);
    this.layoutTimer.unref();
    void this.syncLayout();
  }

  onApplicationShutdown(): void {
    if (this.layoutTimer !== null) clearInterval(this.layoutTimer);
  }

  private async syncLayout(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      // A failure is mostly an outage, which the probe reports and recovers from: said once, retried every tick.
      const changed = await this.layout.sync().then(
        (moved) => {
          this.layoutOutage.succeeded();
          return moved;
        },
        (error: unknown) => {
          this.layoutOutage.failed(error);
          return false;
        },
      );
      if (changed) await this.recover('moved to the new shard layout');
    } finally {
      this.syncing = false;
    }
  }

  private async recover(msg: string): Promise<void> {
    const reasserted = await this.presence.reassertLocal();
    this.broadcaster.resync();
    this.logger.log({ msg, reasserted });
  }
}
