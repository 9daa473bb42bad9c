import { setImmediate as nextTurn } from 'node:timers/promises';
import { TurnsPerKey } from '../../../src/presence/transport/turns-per-key.js';

/** Runs `count` turns of the event loop, recording after each which pieces of work have started. */
async function turns(count: number, started: readonly string[]): Promise<string[][]> {
  const seen: string[][] = [];
  for (let i = 0; i < count; i += 1) {
    await nextTurn();
    seen.push([...started]);
  }
  return seen;
}

describe('TurnsPerKey: one piece of work per key per turn of the event loop', () => {
  test('a burst of one key goes one per turn, in order; the first at once', async () => {
    const turnsOf = new TurnsPerKey();
    const started: string[] = [];
    for (const piece of ['a1', 'a2', 'a3']) void turnsOf.take('a').then(() => started.push(piece));
    await Promise.resolve();
    expect(started).toEqual(['a1']);
    expect(await turns(3, started)).toEqual([['a1', 'a2'], ['a1', 'a2', 'a3'], ['a1', 'a2', 'a3']]);
    // ...and once it has nothing left, the key is forgotten.
    expect(turnsOf.size).toBe(0);
  });

  test('keys do not wait for each other', async () => {
    const turnsOf = new TurnsPerKey();
    const started: string[] = [];
    for (const piece of ['a1', 'a2', 'b1', 'b2', 'c1']) void turnsOf.take(piece[0]!).then(() => started.push(piece));
    await Promise.resolve();
    expect(started).toEqual(['a1', 'b1', 'c1']);
    expect((await turns(1, started))[0]).toEqual(['a1', 'b1', 'c1', 'a2', 'b2']);
  });

  test('a key that had its turn and nothing waiting goes at once again from the next turn on', async () => {
    const turnsOf = new TurnsPerKey();
    const started: string[] = [];
    void turnsOf.take('a').then(() => started.push('a1'));
    await turns(2, started);
    void turnsOf.take('a').then(() => started.push('a2'));
    await Promise.resolve();
    expect(started).toEqual(['a1', 'a2']);
  });

  test('what other callbacks are due runs between two pieces of one key', async () => {
    const turnsOf = new TurnsPerKey();
    const order: string[] = [];
    void turnsOf.take('a').then(() => order.push('a1'));
    void turnsOf.take('a').then(() => {
      order.push('a2');
      // Work of the same key queued from inside its turn waits for a later one.
      void turnsOf.take('a').then(() => order.push('a3'));
    });
    setImmediate(() => order.push('other'));
    await turns(4, order);
    expect(order).toEqual(['a1', 'a2', 'other', 'a3']);
  });
});
