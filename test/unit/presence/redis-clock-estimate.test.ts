import { RedisClockEstimate } from '../../../src/presence/infrastructure/redis/redis-clock-estimate.js';

function estimate() {
  let monotonic = 0;
  const clock = new RedisClockEstimate(() => monotonic);
  return { clock, advance: (ms: number) => (monotonic += ms) };
}

test('none before the first reply', () => {
  expect(estimate().clock.offset()).toBeNull();
});

test('the quickest reply wins: one that waited out a stall does not move the estimate later', () => {
  const { clock } = estimate();
  // Redis runs 5,000 ms ahead of the pod. A call sent at 100 answered at once, one sent at 200 ran 2 s later.
  clock.observe(100, 5_101);
  clock.observe(200, 7_200);
  expect(clock.offset()).toBe(5_001);
  // A quicker one still brings it closer to the truth.
  clock.observe(300, 5_300);
  expect(clock.offset()).toBe(5_000);
});

test('replies older than two buckets are forgotten: a backward step of the pod clock is caught up with', () => {
  const { clock, advance } = estimate();
  clock.observe(100, 5_100); // offset 5,000
  advance(10_000);
  // The pod's clock stepped back by 3 s: its samples now say 8,000, the old bucket still says 5,000.
  clock.observe(7_000, 15_000);
  expect(clock.offset()).toBe(5_000);
  advance(10_000);
  clock.observe(17_000, 25_000);
  expect(clock.offset()).toBe(8_000);
});

test('after an idle spell longer than a bucket, nothing stale is left', () => {
  const { clock, advance } = estimate();
  clock.observe(100, 5_100);
  advance(25_000);
  expect(clock.offset()).toBeNull();
});

test('a sample that is no server time is ignored', () => {
  const { clock } = estimate();
  clock.observe(100, Number.NaN);
  clock.observe(100, 0);
  expect(clock.offset()).toBeNull();
});
