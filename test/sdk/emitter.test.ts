import { jest } from '@jest/globals';
import { Emitter } from '../../src/sdk/emitter.js';

type Events = { tick: [n: number, label: string]; done: [] };

class Ticker extends Emitter<Events> {
  fire<K extends keyof Events>(event: K, ...args: Events[K]): void {
    this.emit(event, ...args);
  }
}

test('listeners get the arguments, in the order they were added; the returned function removes one', () => {
  const ticker = new Ticker();
  const calls: string[] = [];
  const off = ticker.on('tick', (n, label) => calls.push(`a${n}${label}`));
  ticker.on('tick', (n) => calls.push(`b${n}`));
  ticker.fire('tick', 1, 'x');
  off();
  ticker.fire('tick', 2, 'y');
  expect(calls).toEqual(['a1x', 'b1', 'b2']);
});

test('once fires one time; off(event) removes every listener of it', () => {
  const ticker = new Ticker();
  const once = jest.fn();
  const always = jest.fn();
  ticker.once('done', once);
  ticker.on('done', always);
  ticker.fire('done');
  ticker.fire('done');
  ticker.off('done');
  ticker.fire('done');
  expect(once).toHaveBeenCalledTimes(1);
  expect(always).toHaveBeenCalledTimes(2);
});

test('a throwing listener does not stop the others; its error is rethrown on a fresh stack', () => {
  const deferred: Array<() => void> = [];
  const spy = jest.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void) => {
    deferred.push(fn);
    return 0;
  }) as unknown as typeof setTimeout);
  try {
    const ticker = new Ticker();
    const after = jest.fn();
    ticker.on('done', () => {
      throw new Error('listener bug');
    });
    ticker.on('done', after);
    expect(() => ticker.fire('done')).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
    expect(deferred).toHaveLength(1);
    expect(() => deferred[0]!()).toThrow('listener bug');
  } finally {
    spy.mockRestore();
  }
});
