/**
 * How many shards the deployment's keys are spread over (REDIS_SHARDS, as recorded in Redis), and, for a
 * while after a change, the count it replaced: writes go to the current shards only, while the relays
 * and the feed still read the previous shards' logs, so nothing written just before the change goes
 * undelivered. Shared by every RedisKeys of a pod; `ShardLayoutSync` changes it.
 */
export class ShardLayout {
  private current: number;
  private previous: number | null = null;
  /** Bumped on every change: holders of per-shard state (the webhook leases) start over. */
  version = 0;

  constructor(count: number) {
    this.current = count;
  }

  get count(): number {
    return this.current;
  }

  get previousCount(): number | null {
    return this.previous;
  }

  /**
   * The log streams to read, as (count, shard) pairs in a stable order: the previous layout's first,
   * then the current one's, so the previous streams keep their positions when a change comes.
   */
  logShards(): Array<{ readonly count: number; readonly shard: number }> {
    const of = (count: number) => Array.from({ length: count }, (_, shard) => ({ count, shard }));
    return this.previous === null ? of(this.current) : [...of(this.previous), ...of(this.current)];
  }

  /** Takes the recorded layout; true when it differs from the one in force. */
  switchTo(count: number, previous: number | null): boolean {
    const kept = previous === count ? null : previous;
    if (count === this.current && kept === this.previous) return false;
    this.current = count;
    this.previous = kept;
    this.version += 1;
    return true;
  }
}
