import { ShardLayout } from './shard-layout.js';

/**
 * Where a streamer's presence lives in Redis. Streamers are spread over the layout's shards; every key
 * of a shard carries the shard's hash tag, so each Lua script touches keys of one Redis Cluster slot,
 * and a Cluster spreads the shards over its primaries. The tag names the shard count too
 * (`presence:{s7/16}:`): layouts with different counts never share a key, so a pod never reads a
 * streamer from a shard that another layout wrote.
 */
export class RedisKeys {
  readonly layout: ShardLayout;

  constructor(
    private readonly prefix: string,
    layout: ShardLayout | number,
  ) {
    this.layout = typeof layout === 'number' ? new ShardLayout(layout) : layout;
  }

  /** The current shard count: where presence is written and read. */
  get shardCount(): number {
    return this.layout.count;
  }

  /** The key prefix of a shard, hash tag included, e.g. `presence:{s7/16}:`. */
  tag(shard: number, count = this.shardCount): string {
    return `${this.prefix}{s${shard}/${count}}:`;
  }

  shardOf(streamerId: string): number {
    return shardOf(streamerId, this.shardCount);
  }

  /** The keys every presence script of a shard declares first (lua/prelude.lua): deadlines, online, log. */
  shardKeys(shard: number, count = this.shardCount): [string, string, string] {
    const tag = this.tag(shard, count);
    return [`${tag}deadlines`, `${tag}online`, `${tag}log`];
  }

  /** The three keys a presence script declares per streamer (lua/prelude.lua): state, leases, timeline. */
  recordKeys(streamerId: string, count = this.shardCount): [string, string, string] {
    return recordKeysIn(this.tag(shardOf(streamerId, count), count), streamerId);
  }

  /** The current layout's log of a shard (a Stream). */
  log(shard: number): string {
    return `${this.tag(shard)}log`;
  }

  /**
   * The tags of the logs to read (ShardLayout.logShards): position i of the transition log is the
   * stream `${logTags()[i]}log`; a previous layout's come first while it is still read. Built once per
   * layout version: it is asked for every log read and every event a script appends.
   */
  logTags(): readonly string[] {
    const { version } = this.layout;
    if (this.logTagsOf.version !== version) this.logTagsOf = { version, tags: this.layout.logShards().map(({ count, shard }) => this.tag(shard, count)) };
    return this.logTagsOf.tags;
  }

  private logTagsOf: { readonly version: number; readonly tags: readonly string[] } = { version: -1, tags: [] };

  stateKey(streamerId: string): string {
    return this.recordKeys(streamerId)[0];
  }

  leasesKey(streamerId: string): string {
    return this.recordKeys(streamerId)[1];
  }

  timelineKey(streamerId: string): string {
    return this.recordKeys(streamerId)[2];
  }

  deadlines(shard: number, count = this.shardCount): string {
    return `${this.tag(shard, count)}deadlines`;
  }

  online(shard: number): string {
    return `${this.tag(shard)}online`;
  }
}

/** RedisKeys.recordKeys of a streamer whose shard's tag is known: a batch of heartbeats hashes no id twice. */
export function recordKeysIn(tag: string, streamerId: string): [string, string, string] {
  return [`${tag}st:${streamerId}`, `${tag}ls:${streamerId}`, `${tag}tl:${streamerId}`];
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
