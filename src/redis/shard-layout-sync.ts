import { Logger } from '@nestjs/common';
import type { ShardLayout } from '../presence/infrastructure/redis/shard-layout.js';
import type { RedisClient } from './redis-client.js';

/** How long after a change the previous layout's logs are still read (their last entries delivered). */
export const PREVIOUS_LAYOUT_READ_MS = 10 * 60_000;

/**
 * KEYS[1] the layout hash   ARGV[1] the count wanted   ARGV[2] now (ms). Records `wanted` as the
 * deployment's shard count, the one it replaces as `previous`, and when. Returns the count before.
 */
const MOVE = `
local before = redis.call('HGET', KEYS[1], 'shards')
if before == ARGV[1] then return before end
if before then redis.call('HSET', KEYS[1], 'previous', before, 'changedAt', ARGV[2]) end
redis.call('HSET', KEYS[1], 'shards', ARGV[1])
return before`;

/**
 * Keeps every pod on one shard layout. The deployment's count is recorded in Redis (`<prefix>layout`);
 * a pod follows it, except once: a pod whose REDIS_SHARDS differs from the recorded count when it
 * first reaches Redis moves the deployment to its own (a new setting being rolled out), and every other
 * pod follows within a sync. Pods never write two layouts for long, so no pod reads a streamer from a
 * layout another pod stopped writing.
 */
export class ShardLayoutSync {
  private readonly logger = new Logger(ShardLayoutSync.name);
  private readonly key: string;
  private reached = false;

  constructor(
    private readonly redis: RedisClient,
    keyPrefix: string,
    private readonly wanted: number,
    private readonly layout: ShardLayout,
  ) {
    this.key = `${keyPrefix}layout`;
  }

  /** Reads (and, the first time, sets) the recorded layout; true when the current count changed. */
  async sync(): Promise<boolean> {
    if (!this.reached) {
      const before = await this.redis.eval(MOVE, 1, this.key, this.wanted, Date.now());
      this.reached = true;
      if (before !== null && Number(before) !== this.wanted) {
        this.logger.warn({ msg: 'shard layout moved by this pod (REDIS_SHARDS)', from: Number(before), to: this.wanted });
      }
    }
    const recorded = await this.redis.hgetall(this.key);
    // Missing: Redis came back empty. This pod's count is recorded again, for everyone.
    if (recorded.shards === undefined) {
      await this.redis.hsetnx(this.key, 'shards', this.layout.count);
      return false;
    }
    const previous = recorded.previous !== undefined && Date.now() < Number(recorded.changedAt) + PREVIOUS_LAYOUT_READ_MS ? Number(recorded.previous) : null;
    const before = this.layout.count;
    if (!this.layout.switchTo(Number(recorded.shards), previous)) return false;
    const readUntil = previous === null ? null : new Date(Number(recorded.changedAt) + PREVIOUS_LAYOUT_READ_MS).toISOString();
    if (this.layout.count === before) {
      this.logger.log({ msg: 'shard layout: previous logs read', shards: this.layout.count, previous, readUntil });
      return false;
    }
    this.logger.warn({ msg: 'shard layout changed: re-asserting connections, asking viewers to resync', from: before, to: this.layout.count, previous, readUntil });
    return true;
  }
}
