/**
 * Where a streamer's presence lives in Redis. Streamers are spread over `shardCount` shards; every key
 * of a shard carries the shard's hash tag, so each Lua script touches keys of one Redis Cluster slot,
 * and a Cluster spreads the shards over its primaries. The tag names the shard count too
 * (`presence:{s7/16}:`): deployments with different counts never share a key, so a pod never reads a
 * streamer from a shard that another layout wrote.
 */
export class RedisKeys {
  constructor(
    private readonly prefix: string,
    readonly shardCount: number,
  ) {}

  /** The key prefix of a shard, hash tag included, e.g. `presence:{s7/16}:`. */
  tag(shard: number): string {
    return `${this.prefix}{s${shard}/${this.shardCount}}:`;
  }

  shardOf(streamerId: string): number {
    return shardOf(streamerId, this.shardCount);
  }

  /** The keys every presence script of a shard declares first (lua/prelude.lua): deadlines, online, log. */
  shardKeys(shard: number): [string, string, string] {
    const tag = this.tag(shard);
    return [`${tag}deadlines`, `${tag}online`, `${tag}log`];
  }

  /** The three keys a presence script declares per streamer (lua/prelude.lua): state, leases, timeline. */
  recordKeys(streamerId: string): [string, string, string] {
    const tag = this.tag(this.shardOf(streamerId));
    return [`${tag}st:${streamerId}`, `${tag}ls:${streamerId}`, `${tag}tl:${streamerId}`];
  }

  /** The shard's transition log (a Stream). */
  log(shard: number): string {
    return `${this.tag(shard)}log`;
  }

  stateKey(streamerId: string): string {
    return this.recordKeys(streamerId)[0];
  }

  timelineKey(streamerId: string): string {
    return this.recordKeys(streamerId)[2];
  }

  deadlines(shard: number): string {
    return `${this.tag(shard)}deadlines`;
  }

  online(shard: number): string {
    return `${this.tag(shard)}online`;
  }
}

/** FNV-1a of the id, modulo the shard count: stable across processes and versions. */
export function shardOf(streamerId: string, shardCount: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < streamerId.length; i += 1) {
    hash ^= streamerId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shardCount;
}
