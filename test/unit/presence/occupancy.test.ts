import { decideNotice, OCCUPANCY_NOTICE_INTERVAL_MS, totalOf } from '../../../src/presence/domain/occupancy.js';

describe('totalOf: the counts of the pods that count', () => {
  const live = new Set(['a', 'b']);
  test.each<[string, Array<[string, number]>, number]>([
    ['nothing counted', [], 0],
    ['live pods summed', [['a', 3], ['b', 4]], 7],
    ['a gone pod is not counted', [['a', 3], ['gone', 40]], 3],
    ['garbage is skipped', [['a', Number.NaN], ['b', -2], ['a', 1.5]], 0],
  ])('%s', (_name, counts, total) => {
    expect(totalOf(counts, (pod) => live.has(pod))).toBe(total);
  });
});

describe('decideNotice: at most one per interval, and only news', () => {
  const at = 1_000_000;
  const interval = OCCUPANCY_NOTICE_INTERVAL_MS;
  test.each<[string, { viewers: number; at: number } | null, number, number, ReturnType<typeof decideNotice>]>([
    ['never told, someone watches: sent', null, 3, at, { send: true }],
    ['never told (or forgotten), back to no one: news', null, 0, at, { send: true }],
    ['same count: nothing new, even long after', { viewers: 3, at }, 3, at + 10 * interval, { send: false, retryInMs: null }],
    ['a change within the interval: asked again when it ends', { viewers: 3, at }, 4, at + 1_200, { send: false, retryInMs: interval - 1_200 }],
    ['a change at the end of the interval: sent', { viewers: 3, at }, 4, at + interval, { send: true }],
    ['back to 0: news', { viewers: 3, at }, 0, at + interval, { send: true }],
  ])('%s', (_name, last, viewers, now, decision) => {
    expect(decideNotice(last, viewers, now)).toEqual(decision);
  });

  test('forced (a claim whose answer was lost): the same count is sent again, but not within the interval', () => {
    expect(decideNotice({ viewers: 3, at }, 3, at + interval, true)).toEqual({ send: true });
    expect(decideNotice({ viewers: 3, at }, 3, at + 1_000, true)).toEqual({ send: false, retryInMs: interval - 1_000 });
  });
});
