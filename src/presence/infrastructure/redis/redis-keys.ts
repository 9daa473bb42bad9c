/**
 * Where a streamer's presence lives in Redis. Streamers are spread over a fixed number of shards; every
 * key of a shard carries the shard's hash tag, so each Lua script touches keys of one Redis Cluster slot
 * and the same layout works on a Cluster later. The shard count is part of the data layout: changing it
 * strands existing keys.
 */
export const SHARD_COUNT = 16;

export class RedisKeys {
  constructor(private readonly prefix: string) {}

  /** The key prefix of a shard, hash tag included, e.g. `presence:{s7}:`. */
  tag(shard: number): string {
    return `${this.prefix}{s${shard}}:`;
  }

  tagOf(streamerId: string): string {
    return this.tag(shardOf(streamerId));
  }

  /** The KEYS of a per-streamer script, in the order its header names them (the shard's log last). */
  streamerKeys(streamerId: string): [string, string, string, string, string] {
    const tag = this.tagOf(streamerId);
    return [`${tag}st:${streamerId}`, `${tag}ls:${streamerId}`, `${tag}deadlines`, `${tag}online`, `${tag}log`];
  }

  /** The shard's transition log (a Stream). */
  log(shard: number): string {
    return `${this.tag(shard)}log`;
  }

  stateKey(streamerId: string): string {
    return `${this.tagOf(streamerId)}st:${streamerId}`;
  }

  timelineKey(streamerId: string): string {
    return `${this.tagOf(streamerId)}tl:${streamerId}`;
  }

  deadlines(shard: number): string {
    return `${this.tag(shard)}deadlines`;
  }

  online(shard: number): string {
    return `${this.tag(shard)}online`;
  }
}

/** FNV-1a of the id, modulo the shard count: stable across processes and versions. */
export function shardOf(streamerId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < streamerId.length; i += 1) {
    hash ^= streamerId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % SHARD_COUNT;
}
