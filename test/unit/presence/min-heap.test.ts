import { MinHeap } from '../../../src/presence/infrastructure/min-heap.js';
import { intBetween, mulberry32 } from './prng.js';

interface Item {
  readonly at: number;
  readonly id: number;
}

function drain(heap: MinHeap<Item>): Item[] {
  const out: Item[] = [];
  for (let item = heap.pop(); item !== undefined; item = heap.pop()) out.push(item);
  return out;
}

describe('MinHeap', () => {
  it('is empty at first', () => {
    const heap = new MinHeap<Item>();
    expect(heap.size).toBe(0);
    expect(heap.peek()).toBeUndefined();
    expect(heap.pop()).toBeUndefined();
  });

  it.each([1, 2, 3, 7, 42])('seed %i: random pushes pop in order of `at`, each item once', (seed) => {
    const random = mulberry32(seed);
    const heap = new MinHeap<Item>();
    const pushed: Item[] = [];
    const n = intBetween(random, 1, 500);
    for (let id = 0; id < n; id += 1) {
      const item = { at: intBetween(random, 0, 50), id }; // small range: many ties
      pushed.push(item);
      heap.push(item);
      expect(heap.peek()!.at).toBe(Math.min(...pushed.map((p) => p.at)));
    }
    expect(heap.size).toBe(n);
    const popped = drain(heap);
    expect(popped.map((p) => p.at)).toEqual(pushed.map((p) => p.at).sort((a, b) => a - b));
    expect(popped.map((p) => p.id).sort((a, b) => a - b)).toEqual(pushed.map((p) => p.id));
    expect(heap.size).toBe(0);
  });

  it('keeps order when pushes and pops interleave', () => {
    const random = mulberry32(99);
    const heap = new MinHeap<Item>();
    const model: number[] = [];
    for (let i = 0; i < 5_000; i += 1) {
      if (model.length > 0 && random() < 0.45) {
        model.sort((a, b) => a - b);
        expect(heap.pop()!.at).toBe(model.shift());
      } else {
        const at = intBetween(random, 0, 1_000);
        model.push(at);
        heap.push({ at, id: i });
      }
      expect(heap.size).toBe(model.length);
    }
  });
});
