import { jest } from '@jest/globals';
import { InFlightFence } from '../../../src/redis/in-flight-fence.js';

/** A command whose answer the test gives. */
function command(): { promise: Promise<string>; answer: () => void; fail: () => void } {
  let answer!: () => void;
  let fail!: () => void;
  const promise = new Promise<string>((resolve, reject) => {
    answer = () => resolve('OK');
    fail = () => reject(new Error('refused'));
  });
  promise.catch(() => undefined);
  return { promise, answer, fail };
}

/** Whether `promise` has resolved once pending callbacks have run. */
async function isDone(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

const LONG = 60_000;

test('nothing in flight: settled at once', async () => {
  const fence = new InFlightFence();
  expect(await isDone(fence.settled(LONG))).toBe(true);
  const sent = command();
  fence.track(sent.promise);
  sent.answer();
  await sent.promise;
  expect(await isDone(fence.settled(LONG))).toBe(true);
});

test('waits for every command sent before it asked, answered or failed, in any order; not for those sent after', async () => {
  const fence = new InFlightFence();
  const [first, second, later] = [command(), command(), command()];
  fence.track(first.promise);
  fence.track(second.promise);
  const settled = fence.settled(LONG);
  fence.track(later.promise);

  second.answer();
  expect(await isDone(settled)).toBe(false);
  first.fail();
  expect(await isDone(settled)).toBe(true);
  expect(fence.inFlight).toBe(1);
  expect(fence.waiting).toBe(0);
});

test('waiters are let go in the order they came, each once its own commands are answered', async () => {
  const fence = new InFlightFence();
  const [first, second] = [command(), command()];
  fence.track(first.promise);
  const early = fence.settled(LONG);
  fence.track(second.promise);
  const late = fence.settled(LONG);

  second.answer();
  expect([await isDone(early), await isDone(late)]).toEqual([false, false]);
  first.answer();
  expect([await isDone(early), await isDone(late)]).toEqual([true, true]);

  const [third, fourth] = [command(), command()];
  fence.track(third.promise);
  const onThird = fence.settled(LONG);
  fence.track(fourth.promise);
  const onFourth = fence.settled(LONG);
  third.answer();
  expect([await isDone(onThird), await isDone(onFourth)]).toEqual([true, false]);
  fourth.answer();
  expect(await isDone(onFourth)).toBe(true);
});

test('a command never answered: each waiter gives up at its timeout and keeps nothing; the fence still works after', async () => {
  jest.useFakeTimers();
  try {
    const fence = new InFlightFence();
    const stuck = command();
    fence.track(stuck.promise);
    const waiters = Array.from({ length: 1_000 }, () => fence.settled(1_000));
    expect(fence.waiting).toBe(1_000);
    jest.advanceTimersByTime(999);
    expect(await Promise.race([Promise.all(waiters).then(() => 'settled'), Promise.resolve('waiting')])).toBe('waiting');
    jest.advanceTimersByTime(1);
    // Each says it gave up rather than saw its commands answered.
    expect(new Set(await Promise.all(waiters))).toEqual(new Set([false]));
    // The bug this class replaced: every caller left something on every command still in flight.
    expect(fence.waiting).toBe(0);
    expect(fence.inFlight).toBe(1);

    const next = fence.settled(1_000);
    stuck.answer();
    expect(await next).toBe(true);
    expect(fence.inFlight).toBe(0);
  } finally {
    jest.useRealTimers();
  }
});
