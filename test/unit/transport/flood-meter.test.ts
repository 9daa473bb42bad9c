import { TokenBucket } from '../../../src/presence/domain/token-bucket.js';
import { FloodMeter } from '../../../src/presence/transport/connection-guard.js';

const RATE = 10;

/** Sends at `perSecond` for up to `seconds` through the rate limit; when the flood meter cut it (ms), or null. */
function cutAfter(perSecond: number, seconds: number): number | null {
  const start = 1_000_000;
  const bucket = new TokenBucket(RATE, start);
  const meter = new FloodMeter(RATE, start);
  for (let i = 0; i < perSecond * seconds; i += 1) {
    const now = start + Math.floor((i * 1000) / perSecond);
    if (!bucket.take(now) && meter.refused(now)) return now - start;
  }
  return null;
}

test.each([
  [2 * RATE, null],
  [1.5 * RATE, null],
])('at %i messages a second against a rate of 10: never cut', (perSecond, expected) => {
  expect(cutAfter(perSecond, 60)).toBe(expected);
});

test('at three times the rate: cut within about five seconds; at ten times, within one', () => {
  const slow = cutAfter(3 * RATE, 60)!;
  expect(slow).toBeGreaterThan(3_000);
  expect(slow).toBeLessThan(8_000);
  expect(cutAfter(10 * RATE, 60)!).toBeLessThan(1_000);
});

test('one burst of 60 at once is refused in part, not cut', () => {
  const bucket = new TokenBucket(RATE, 0);
  const meter = new FloodMeter(RATE, 0);
  let cut = false;
  for (let i = 0; i < 60; i += 1) if (!bucket.take(0) && meter.refused(0)) cut = true;
  expect(cut).toBe(false);
});
