import { SortedIdSet } from '../../../src/presence/infrastructure/sorted-id-set.js';
import { intBetween, mulberry32 } from './prng.js';

/** Reads the whole set through `after()` pages of `limit`, the way listOnline does. */
function pages(set: SortedIdSet, limit: number): string[][] {
  const out: string[][] = [];
  let cursor: string | null = null;
  for (;;) {
    const page = set.after(cursor, limit);
    if (page.length === 0) return out;
    out.push(page);
    cursor = page[page.length - 1]!;
  }
}

describe('SortedIdSet', () => {
  it('keeps ids sorted (code-unit order) and unique', () => {
    const set = new SortedIdSet();
    for (const id of ['b', 'a', 'B', 'a', '_', '10', '9', 'b']) set.add(id);
    expect(set.size).toBe(6);
    expect(set.after(null, 100)).toEqual(['10', '9', 'B', '_', 'a', 'b']);
  });

  it('deletes present ids and ignores absent ones', () => {
    const set = new SortedIdSet();
    for (const id of ['a', 'b', 'c']) set.add(id);
    set.delete('b');
    set.delete('zzz');
    set.delete('0');
    expect(set.after(null, 10)).toEqual(['a', 'c']);
    expect(set.size).toBe(2);
  });

  it('after() starts strictly after the cursor, whether or not the cursor is in the set', () => {
    const set = new SortedIdSet();
    for (const id of ['a', 'c', 'e', 'g']) set.add(id);
    expect(set.after('c', 10)).toEqual(['e', 'g']);
    expect(set.after('d', 10)).toEqual(['e', 'g']);
    expect(set.after('0', 2)).toEqual(['a', 'c']);
    expect(set.after('g', 10)).toEqual([]);
    expect(set.after('z', 10)).toEqual([]);
    expect(set.after(null, 0)).toEqual([]);
  });

  it.each([1, 5, 23])('seed %i: random adds and deletes page through in order, no id twice or missing', (seed) => {
    const random = mulberry32(seed);
    const set = new SortedIdSet();
    const model = new Set<string>();
    for (let i = 0; i < 2_000; i += 1) {
      const id = `s${intBetween(random, 0, 300)}`;
      if (random() < 0.6) {
        set.add(id);
        model.add(id);
      } else {
        set.delete(id);
        model.delete(id);
      }
    }
    const expected = [...model].sort();
    expect(set.size).toBe(expected.length);
    for (const limit of [1, 7, 10, 1_000]) {
      const read = pages(set, limit);
      expect(read.flat()).toEqual(expected);
      expect(read.slice(0, -1).every((page) => page.length === limit)).toBe(true);
    }
  });

  it('a page cursor stays valid when its id is deleted meanwhile', () => {
    const set = new SortedIdSet();
    for (let i = 0; i < 10; i += 1) set.add(`s${i}`);
    const first = set.after(null, 3);
    set.delete(first[2]!);
    expect(set.after(first[2]!, 3)).toEqual(['s3', 's4', 's5']);
  });
});
