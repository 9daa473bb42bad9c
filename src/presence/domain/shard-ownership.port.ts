/**
 * Which shards of the transition log this pod relays, for a relay group that must have one relay per
 * shard at a time (webhooks: one streamer's events go out in version order, so one sender per shard).
 * Implementations: `SingleNodeOwnership` (embedded mode: this pod owns every shard) and
 * `RedisShardLeases` (a lease per shard, renewed while the pod lives, spread evenly over the pods).
 */
export interface ShardOwnership {
  /**
   * Renews the leases this pod holds, gives up those beyond its fair share that `idle` says it can let
   * go now, takes free ones up to its fair share, and returns the shards it owns after that. A shard
   * lost (the lease ran out while this pod stalled) is simply not in the list any more.
   */
  refresh(idle: (shard: number) => boolean): Promise<number[]>;
  /**
   * Whether this pod may act for `shard` right now: it owns it and its lease cannot have run out since
   * it was last renewed (with a margin). False while a renewal is overdue, e.g. when the store does not
   * answer: another pod may be taking the shard over.
   */
  holds(shard: number): boolean;
  /** Gives up every lease (on shutdown), so another pod takes them over at once. */
  releaseAll(): Promise<void>;
}
