import type { RedisClient } from '../../../redis/redis-client.js';
import type { ShardOwnership } from '../../domain/shard-ownership.port.js';
import { asComponent } from './component-error.js';
import type { RedisKeys } from './redis-keys.js';

// Each a few lines and on one key: inline. Times are Redis's clock, never a pod's.
/** KEYS[1] the group's pod registry (zset)   ARGV[1] pod   ARGV[2] how long a silent pod still counts (ms). Returns how many pods count. */
const PODS_ALIVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 2)
return redis.call('ZCARD', KEYS[1])`;
/** KEYS[1] a shard's lease   ARGV[1] pod   ARGV[2] TTL (ms). Renews it if this pod holds it: 1, else 0. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
/** KEYS[1] a shard's lease   ARGV[1] pod. Deletes it if this pod holds it. */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * A lease per shard (`<tag>lease:<group>`, in the shard's own slot), held by one pod at a time and
 * renewed on every refresh. Pods register in a per-group set so each knows how many share the work, and
 * holds at most its fair share (shards / pods, rounded up): a pod that starts gets shards as others give
 * up their extras. A pod that dies or stalls loses its leases after `ttlMs`.
 */
export class RedisShardLeases implements ShardOwnership {
  /** Owned shards, and when (this pod's clock) each lease was last set or renewed. */
  private readonly owned = new Map<number, number>();
  /** Where this pod starts looking for free shards: spread, so pods do not all race for shard 0. */
  private readonly podHash: number;
  /** The layout version the owned shards belong to: after a change, positions name other streams. */
  private layoutVersion: number;

  /** `keys`: the shards are the log's positions (RedisKeys.logTags), each lease in its stream's slot. */
  constructor(
    private readonly redis: RedisClient,
    private readonly keyPrefix: string,
    private readonly keys: RedisKeys,
    private readonly group: string,
    private readonly pod: string,
    private readonly ttlMs: number,
  ) {
    this.podHash = [...pod].reduce((hash, char) => (hash * 31 + char.charCodeAt(0)) >>> 0, 7);
    this.layoutVersion = keys.layout.version;
    this.leaseTags = keys.logTags();
  }

  /** The tags of the positions the owned leases were taken for. */
  private leaseTags: readonly string[];

  async refresh(idle: (shard: number) => boolean): Promise<number[]> {
    if (this.layoutVersion !== this.keys.layout.version) {
      // The leases held name positions of the old layout: given back (under their old keys), and none
      // held until the next refresh, so the holder drops everything it had taken under the old positions
      // and reads the new ones' pending entries afresh when it takes them.
      await this.releaseAll();
      this.layoutVersion = this.keys.layout.version;
      this.leaseTags = this.keys.logTags();
      return [];
    }
    this.leaseTags = this.keys.logTags();
    const shardCount = this.leaseTags.length;
    const offset = this.podHash % shardCount;
    // A pod that stopped renewing stops counting one refresh after its leases ran out.
    const pods = Number(await this.call('register', () => this.redis.eval(PODS_ALIVE, 1, `${this.keyPrefix}pods:${this.group}`, this.pod, this.ttlMs + 1_000)));
    for (const shard of [...this.owned.keys()]) {
      const renewedAt = Date.now();
      if (Number(await this.call('renew', () => this.redis.eval(RENEW, 1, this.lease(shard), this.pod, this.ttlMs))) === 1) this.owned.set(shard, renewedAt);
      else this.owned.delete(shard);
    }
    const fair = Math.ceil(shardCount / Math.max(1, pods));
    for (const shard of [...this.owned.keys()]) {
      if (this.owned.size <= fair) break;
      if (!idle(shard)) continue;
      await this.call('release', () => this.redis.eval(RELEASE, 1, this.lease(shard), this.pod));
      this.owned.delete(shard);
    }
    for (let i = 0; i < shardCount && this.owned.size < fair; i += 1) {
      const shard = (offset + i) % shardCount;
      if (this.owned.has(shard)) continue;
      const takenAt = Date.now();
      if ((await this.call('take', () => this.redis.set(this.lease(shard), this.pod, 'PX', this.ttlMs, 'NX'))) === 'OK') this.owned.set(shard, takenAt);
    }
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  holds(shard: number): boolean {
    // After a change of shard layout, positions name other streams: nothing is held until the next refresh.
    if (this.layoutVersion !== this.keys.layout.version) return false;
    const renewedAt = this.owned.get(shard);
    // The margin covers the time a renewal takes to reach Redis, and clock drift between pod and Redis.
    return renewedAt !== undefined && Date.now() < renewedAt + this.ttlMs - Math.min(1_000, this.ttlMs / 4);
  }

  async releaseAll(): Promise<void> {
    for (const shard of [...this.owned.keys()]) await this.redis.eval(RELEASE, 1, this.lease(shard), this.pod).catch(() => undefined);
    this.owned.clear();
  }

  private call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    return asComponent(`redis shard leases (${this.group})`, operation, run);
  }

  /** The lease of log position `shard`, in its stream's slot (the tags of the layout the lease was taken in). */
  private lease(shard: number): string {
    return `${this.leaseTags[shard]}lease:${this.group}`;
  }
}
