import type { RedisClient } from '../redis/redis-client.js';
import type { RedisKeys } from '../presence/infrastructure/redis/redis-keys.js';
import type { WebhookView } from '../dashboard/console-api.js';

/** One outcome of a webhook, for the console. */
export type WebhookDelivery = WebhookView;

/** Outcomes kept per streamer: the console shows the latest of each transition among them. */
export const DELIVERIES_KEPT = 50;
const KEPT_FOR_MS = 7 * 24 * 3600 * 1000;

/**
 * The recent webhook outcomes of each streamer, for the console. Written by whichever pod delivers, best
 * effort (a lost record hides an outcome from the page, never a webhook). Implementations: memory
 * (single node) and Redis (a list per streamer, under its shard's tag).
 */
export interface WebhookDeliveries {
  record(delivery: WebhookDelivery): Promise<void>;
  /** Newest first. */
  recent(streamerId: string): Promise<WebhookDelivery[]>;
}

export class MemoryWebhookDeliveries implements WebhookDeliveries {
  private readonly byStreamer = new Map<string, WebhookDelivery[]>();

  /** @param maxStreamers streamers remembered; the least recently delivered go first */
  constructor(private readonly maxStreamers = 10_000) {}

  async record(delivery: WebhookDelivery): Promise<void> {
    const list = this.byStreamer.get(delivery.streamerId) ?? [];
    this.byStreamer.delete(delivery.streamerId);
    this.byStreamer.set(delivery.streamerId, [delivery, ...list].slice(0, DELIVERIES_KEPT));
    if (this.byStreamer.size > this.maxStreamers) this.byStreamer.delete(this.byStreamer.keys().next().value!);
  }

  async recent(streamerId: string): Promise<WebhookDelivery[]> {
    return [...(this.byStreamer.get(streamerId) ?? [])];
  }
}

export class RedisWebhookDeliveries implements WebhookDeliveries {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async record(delivery: WebhookDelivery): Promise<void> {
    const key = this.key(delivery.streamerId);
    // One key per command (a Cluster routes each), sent together by auto-pipelining.
    await Promise.all([this.redis.lpush(key, JSON.stringify(delivery)), this.redis.ltrim(key, 0, DELIVERIES_KEPT - 1), this.redis.pexpire(key, KEPT_FOR_MS)]);
  }

  async recent(streamerId: string): Promise<WebhookDelivery[]> {
    return (await this.redis.lrange(this.key(streamerId), 0, -1)).map((entry) => JSON.parse(entry) as WebhookDelivery);
  }

  private key(streamerId: string): string {
    return `${this.keys.tag(this.keys.shardOf(streamerId))}wd:${streamerId}`;
  }
}
