import { ShardLayout } from '../../../src/presence/infrastructure/redis/shard-layout.js';

describe('ShardLayout', () => {
  it('reads the current shards only, until a change brings a previous layout, whose shards come first', () => {
    const layout = new ShardLayout(2);
    expect(layout.logShards()).toEqual([
      { count: 2, shard: 0 },
      { count: 2, shard: 1 },
    ]);
    expect(layout.switchTo(3, 2)).toBe(true);
    expect(layout.count).toBe(3);
    expect(layout.logShards().map(({ count, shard }) => `${shard}/${count}`)).toEqual(['0/2', '1/2', '0/3', '1/3', '2/3']);
  });

  it('counts a change of either count as a new version, and the same layout as none', () => {
    const layout = new ShardLayout(4);
    expect(layout.switchTo(4, null)).toBe(false);
    expect(layout.version).toBe(0);
    expect(layout.switchTo(8, 4)).toBe(true);
    expect(layout.switchTo(8, 4)).toBe(false);
    expect(layout.switchTo(8, null)).toBe(true);
    expect(layout.version).toBe(2);
    expect(layout.previousCount).toBeNull();
  });

  it('does not read a "previous" layout that is the current one (a change undone)', () => {
    const layout = new ShardLayout(8);
    layout.switchTo(4, 8);
    expect(layout.switchTo(8, 8)).toBe(true);
    expect(layout.previousCount).toBeNull();
    expect(layout.logShards()).toHaveLength(8);
  });
});
