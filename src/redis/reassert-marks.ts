import type { RedisClient } from './redis-client.js';

/** A loss's marks are kept this long: one small set per time Redis lost its data. */
const KEPT_MS = 3_600_000;

/**
 * Which pods have written again what they hold since Redis last lost its data: one set per epoch (the
 * key lost-streamers.ts writes, gone with the data), of POD_NAMEs, which stay the same when a pod
 * re-registers under a new run name after the loss (pod-directory.ts). A pod adds itself once its
 * connections are re-asserted, or at its start (it holds nothing yet); the lost-streamer settle waits
 * for every live pod's mark before it takes a streamer without a record for one nobody holds.
 */
export class ReassertMarks {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async mark(epoch: string, pod: string): Promise<void> {
    const key = this.key(epoch);
    await this.redis.sadd(key, pod);
    await this.redis.pexpire(key, KEPT_MS);
  }

  /** Those of `pods` that have not marked `epoch`. */
  async missing(epoch: string, pods: readonly string[]): Promise<string[]> {
    if (pods.length === 0) return [];
    const marked = await this.redis.smismember(this.key(epoch), ...pods);
    return pods.filter((_, i) => marked[i] !== 1);
  }

  private key(epoch: string): string {
    return `${this.prefix}reasserted:${epoch}`;
  }
}
