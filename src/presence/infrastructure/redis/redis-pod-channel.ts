import { Logger } from '@nestjs/common';
import type { RedisClient } from '../../../redis/redis-client.js';
import type { OccupancyNotice, PodChannel } from '../../domain/pod-channel.port.js';

/**
 * A sharded Pub/Sub channel per pod (`<prefix>{pod:<name>}:notices`): a pod subscribes to its own on the
 * subscriber connection (ioredis subscribes again after a reconnect) and publishes to others' on the
 * publisher. One channel per pod, not per streamer: a streamer's connections cost no subscription.
 */
export class RedisPodChannel implements PodChannel {
  private readonly logger = new Logger(RedisPodChannel.name);

  constructor(
    private readonly publisher: RedisClient,
    private readonly subscriber: RedisClient,
    private readonly keyPrefix: string,
    private readonly pod: string,
  ) {}

  send(pod: string, notice: OccupancyNotice): void {
    void this.publisher.spublish(this.channel(pod), JSON.stringify(notice)).catch((error: unknown) => {
      this.logger.warn({ msg: 'occupancy notice not sent to its pod', pod, streamerId: notice.streamerId, error: String(error) });
    });
  }

  receive(handler: (notice: OccupancyNotice) => void): void {
    const mine = this.channel(this.pod);
    this.subscriber.on('smessage', (channel: string, message: string) => {
      if (channel !== mine) return;
      const notice = parseNotice(message);
      if (notice !== null) handler(notice);
    });
    void this.subscriber.ssubscribe(mine).catch((error: unknown) => {
      this.logger.warn({ msg: 'pod channel not subscribed; notices from other pods are lost until it is', error: String(error) });
    });
  }

  private channel(pod: string): string {
    return `${this.keyPrefix}{pod:${pod}}:notices`;
  }
}

function parseNotice(message: string): OccupancyNotice | null {
  try {
    const value = JSON.parse(message) as Partial<OccupancyNotice>;
    return typeof value.streamerId === 'string' && Number.isSafeInteger(value.viewers) ? (value as OccupancyNotice) : null;
  } catch {
    return null;
  }
}
