import type { RedisClient } from '../redis/redis-client.js';
import { asComponent } from '../presence/infrastructure/redis/component-error.js';
import { LuaScript } from '../presence/infrastructure/redis/lua-script.js';
import type { RedisKeys } from '../presence/infrastructure/redis/redis-keys.js';
import { DELIVERIES_KEPT, type WebhookDeliveries, type WebhookDelivery } from './webhook-deliveries.port.js';

/** KEYS[1] <tag>wd:<id> (list, newest first)   ARGV[1] the outcome (JSON)   ARGV[2] kept   ARGV[3] TTL (ms) */
const RECORD = new LuaScript(
  'webhook-delivery',
  `redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1`,
);

/** Webhook outcomes in Redis: a short list per streamer, in its shard's slot, kept for the log's retention. */
export class RedisWebhookDeliveries implements WebhookDeliveries {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly retentionMs: number,
  ) {}

  async record(delivery: WebhookDelivery): Promise<void> {
    await asComponent('redis webhook deliveries', 'record', () =>
      RECORD.run(this.redis, [this.key(delivery.streamerId)], [JSON.stringify(delivery), DELIVERIES_KEPT, this.retentionMs]),
    );
  }

  async recent(streamerId: string): Promise<WebhookDelivery[]> {
    const entries = await asComponent('redis webhook deliveries', 'read', () => this.redis.lrange(this.key(streamerId), 0, -1));
    return entries.map((entry) => JSON.parse(entry) as WebhookDelivery);
  }

  private key(streamerId: string): string {
    return `${this.keys.tag(this.keys.shardOf(streamerId))}wd:${streamerId}`;
  }
}
