import { Backoff, backoffDelay } from '../../src/sdk/backoff.js';

const fixed = (value: number) => () => value;

describe('backoffDelay: full jitter in [0, min(maxMs, initialMs × 2^attempt))', () => {
  test.each<[number, number, number]>([
    // attempt, random, expected (initialMs 500, maxMs 30000)
    [0, 0, 0],
    [0, 0.5, 250],
    [0, 0.999, 499],
    [1, 0.5, 500],
    [3, 0.5, 2_000],
    [5, 0.5, 8_000],
    [6, 0.5, 15_000], // 32000 capped at 30000
    [60, 0.5, 15_000],
    [5_000, 0.999, 29_970], // 2^5000 is Infinity: still capped
  ])('attempt %i, random %f → %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, { initialMs: 500, maxMs: 30_000 }, fixed(random))).toBe(expected);
  });

  test('defaults are 500 ms and 30 s', () => {
    expect(backoffDelay(0, {}, fixed(0.999))).toBe(499);
    expect(backoffDelay(100, {}, fixed(0.999))).toBe(29_970);
  });

  test('never reaches the ceiling and never goes negative', () => {
    for (let attempt = 0; attempt < 20; attempt++) {
      for (const random of [0, 0.25, 0.9999999]) {
        const delay = backoffDelay(attempt, { initialMs: 100, maxMs: 1_000 }, fixed(random));
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThan(Math.min(1_000, 100 * 2 ** attempt));
      }
    }
  });
});

describe('Backoff', () => {
  test('counts failures until reset', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 1_000 }, fixed(0.5));
    expect([backoff.next(), backoff.next(), backoff.next(), backoff.next(), backoff.next()]).toEqual([50, 100, 200, 400, 500]);
    expect(backoff.attempts).toBe(5);
    backoff.reset();
    expect(backoff.next()).toBe(50);
  });

  test('uses the random source it is given, once per delay', () => {
    const values = [0.1, 0.9];
    const backoff = new Backoff({ initialMs: 1_000, maxMs: 1_000 }, () => values.shift()!);
    expect([backoff.next(), backoff.next()]).toEqual([100, 900]);
  });

  test.each([
    [{ initialMs: 0 }],
    [{ initialMs: -1 }],
    [{ initialMs: 1_000, maxMs: 500 }],
    [{ initialMs: Number.NaN }],
  ])('refuses %j', (options) => {
    expect(() => new Backoff(options, Math.random)).toThrow(RangeError);
  });
});
