import { TokenBucket } from '../../../src/presence/domain/token-bucket.js';

const T0 = 1_700_000_000_000;

function takeMany(bucket: TokenBucket, n: number, now: number): boolean[] {
  return Array.from({ length: n }, () => bucket.take(now));
}

describe('TokenBucket', () => {
  it.each([1, 10, 25])('at %i/s allows a burst of twice the rate at once, then refuses', (rate) => {
    const bucket = new TokenBucket(rate, T0);
    expect(takeMany(bucket, 2 * rate, T0).every(Boolean)).toBe(true);
    expect(bucket.take(T0)).toBe(false);
    expect(bucket.take(T0)).toBe(false);
  });

  it('refills one token per 1/rate s, with exact timestamps', () => {
    const bucket = new TokenBucket(10, T0);
    takeMany(bucket, 20, T0);
    expect(bucket.take(T0 + 99)).toBe(false); // 0.99 of a token
    expect(bucket.take(T0 + 100)).toBe(true); // 1.00: spent
    expect(bucket.take(T0 + 100)).toBe(false);
    expect(bucket.take(T0 + 150)).toBe(false); // 0.5
    expect(bucket.take(T0 + 200)).toBe(true); // halves add up
  });

  it('refills at most to the burst, however long it was idle', () => {
    const bucket = new TokenBucket(10, T0);
    takeMany(bucket, 20, T0);
    const later = T0 + 3_600_000;
    expect(takeMany(bucket, 20, later).every(Boolean)).toBe(true);
    expect(bucket.take(later)).toBe(false);
  });

  it('sustains exactly the rate: 10/s for 10 s allows 20 + 100 messages', () => {
    const bucket = new TokenBucket(10, T0);
    let allowed = 0;
    for (let t = T0; t <= T0 + 10_000; t += 10) {
      if (bucket.take(t)) allowed += 1; // a message every 10 ms, 10x the rate
    }
    expect(allowed).toBe(20 + 100);
  });

  it('gives nothing for a clock that stepped back', () => {
    const bucket = new TokenBucket(10, T0);
    takeMany(bucket, 20, T0);
    expect(bucket.take(T0 - 5_000)).toBe(false);
  });

  it('with rate 0 never refuses', () => {
    const bucket = new TokenBucket(0, T0);
    expect(takeMany(bucket, 100_000, T0).every(Boolean)).toBe(true);
  });
});

describe('spending several tokens at once (new subscriptions by the hundred)', () => {
  it('takes all of them or none', () => {
    const bucket = new TokenBucket(100, T0); // holds 200
    expect(bucket.take(T0, 150)).toBe(true);
    expect(bucket.take(T0, 60)).toBe(false); // 50 left: nothing spent
    expect(bucket.take(T0, 50)).toBe(true);
    expect(bucket.take(T0 + 500, 51)).toBe(false); // 50 refilled
    expect(bucket.take(T0 + 500, 50)).toBe(true);
  });
});
