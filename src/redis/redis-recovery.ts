import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { Readiness } from '../health/readiness.js';
import { PresenceService } from '../presence/application/presence.service.js';
import { ViewerBroadcaster } from '../presence/transport/viewer-broadcaster.js';
import { RedisConnections } from './redis-connections.js';

export const REDIS_CONNECTIONS = Symbol('RedisConnections');

/**
 * What a pod does about Redis coming and going: it is unready while Redis is unusable, and when Redis
 * is back (possibly empty) it re-asserts its live streamer connections and tells its viewers to resync,
 * since events published meanwhile may be lost.
 */
@Injectable()
export class RedisRecovery implements OnApplicationBootstrap {
  private readonly logger = new Logger(RedisRecovery.name);

  constructor(
    @Inject(REDIS_CONNECTIONS) private readonly redis: RedisConnections,
    private readonly readiness: Readiness,
    private readonly presence: PresenceService,
    private readonly broadcaster: ViewerBroadcaster,
  ) {}

  onApplicationBootstrap(): void {
    this.readiness.addCheck(() => this.redis.problem());
    this.redis.onRecovered(() => void this.recover());
    this.redis.start();
  }

  private async recover(): Promise<void> {
    const reasserted = await this.presence.reassertLocal();
    this.broadcaster.resync();
    this.logger.log({ msg: 'recovered from redis outage', reasserted });
  }
}
