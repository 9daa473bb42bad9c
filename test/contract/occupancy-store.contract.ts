import { OCCUPANCY_NOTICE_INTERVAL_MS } from '../../src/presence/domain/occupancy.js';
import type { OccupancyStore } from '../../src/presence/domain/occupancy-store.port.js';

/** A fresh, empty store of the implementation under test; `teardown` releases its connections. */
export type MakeOccupancyStore = () => Promise<{ store: OccupancyStore; teardown: () => Promise<void> }>;

const everyone = (): boolean => true;

/** The OccupancyStore contract (occupancy-store.port.ts), one suite for every implementation. */
export function describeOccupancyContract(name: string, make: MakeOccupancyStore): void {
  describe(`${name}: the occupancy store contract`, () => {
    let store: OccupancyStore;
    let teardown: () => Promise<void>;
    beforeEach(async () => {
      ({ store, teardown } = await make());
    });
    afterEach(async () => {
      await teardown();
    });

    test("a pod's count replaces its last, 0 removes it, and totals add up the pods", async () => {
      expect(await store.record('pod-a', new Map([['x', 3], ['y', 1]]), everyone)).toEqual(new Map([['x', 3], ['y', 1]]));
      expect(await store.record('pod-b', new Map([['x', 2]]), everyone)).toEqual(new Map([['x', 5]]));
      expect(await store.record('pod-a', new Map([['x', 1]]), everyone)).toEqual(new Map([['x', 3]]));
      expect(await store.record('pod-b', new Map([['x', 0]]), everyone)).toEqual(new Map([['x', 1]]));
      expect(await store.totals(['x', 'y', 'never-watched'], everyone)).toEqual(new Map([['x', 1], ['y', 1], ['never-watched', 0]]));
    });

    test('only the pods `counted` accepts count: a dead pod stops counting before anyone cleans up', async () => {
      await store.record('pod-a', new Map([['x', 3]]), everyone);
      await store.record('pod-dead', new Map([['x', 40]]), everyone);
      const counted = (pod: string): boolean => pod !== 'pod-dead';
      expect(await store.totals(['x'], counted)).toEqual(new Map([['x', 3]]));
      expect(await store.record('pod-a', new Map([['x', 4]]), counted)).toEqual(new Map([['x', 4]]));
    });

    test("forgetting a pod removes all its counts, however many, and names the streamers it counted", async () => {
      const ids = Array.from({ length: 600 }, (_, i) => `s${i}`);
      await store.record('pod-b', new Map(ids.map((id) => [id, 2])), everyone);
      await store.record('pod-a', new Map([['s0', 1]]), everyone);
      await store.record('pod-b', new Map([['s1', 0]]), everyone);
      const forgotten = await store.forgetPod('pod-b');
      expect(forgotten.sort()).toEqual(ids.filter((id) => id !== 's1').sort());
      const totals = await store.totals(ids, everyone);
      expect(totals.get('s0')).toBe(1);
      expect([...totals.values()].reduce((sum, count) => sum + count, 0)).toBe(1);
      expect(await store.forgetPod('pod-b')).toEqual([]);
    }, 20_000);

    const claim = async (id: string, viewers: number, force = false) => (await store.claimNotices(new Map([[id, viewers]]), force)).get(id)!;

    test('a notice: sent for news, not for the same count, at most once per interval', async () => {
      // Never told: any count is news, 0 too (a drop after the last notice was forgotten).
      expect(await claim('w', 0)).toMatchObject({ send: true });
      expect(await claim('x', 3)).toMatchObject({ send: true });
      expect(await claim('x', 3)).toEqual({ send: false, retryInMs: null });
      const refused = await claim('x', 4);
      expect(refused.send).toBe(false);
      const retryInMs = (refused as { retryInMs: number }).retryInMs;
      expect(retryInMs).toBeGreaterThan(OCCUPANCY_NOTICE_INTERVAL_MS - 2_000);
      expect(retryInMs).toBeLessThanOrEqual(OCCUPANCY_NOTICE_INTERVAL_MS);
      // Another streamer has its own interval.
      expect(await claim('y', 1)).toMatchObject({ send: true });
      // Many at once, one call per shard: each decided on its own.
      const many = await store.claimNotices(new Map([['x', 5], ['y', 1], ...Array.from({ length: 300 }, (_, i) => [`n${i}`, i] as [string, number])]));
      expect(many.get('x')!.send).toBe(false);
      expect(many.get('y')).toEqual({ send: false, retryInMs: null });
      expect([...many.values()].filter((decision) => decision.send)).toHaveLength(300);
      // Forced (a claim whose answer was lost): the same count again, but still once per interval.
      const forced = await claim('y', 1, true);
      expect(forced.send).toBe(false);
      expect((forced as { retryInMs: number }).retryInMs).toBeGreaterThan(0);
      expect(await claim('fresh', 2, true)).toMatchObject({ send: true });
    });

    test('pods claiming the same notice at once: exactly one sends it', async () => {
      const decisions = await Promise.all(Array.from({ length: 10 }, () => claim('z', 7)));
      expect(decisions.filter((decision) => decision.send)).toHaveLength(1);
    });
  });
}
