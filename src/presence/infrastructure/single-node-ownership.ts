import type { ShardOwnership } from '../domain/shard-ownership.port.js';

/** Embedded mode: the only pod owns every shard of its log. */
export class SingleNodeOwnership implements ShardOwnership {
  constructor(private readonly shardCount: number) {}

  async refresh(): Promise<number[]> {
    return Array.from({ length: this.shardCount }, (_, shard) => shard);
  }

  holds(): boolean {
    return true;
  }

  async releaseAll(): Promise<void> {}
}
