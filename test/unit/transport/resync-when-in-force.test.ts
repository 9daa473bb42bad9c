import { ResyncWhenInForce } from '../../../src/presence/transport/resync-when-in-force.js';

/** A socket as far as ResyncWhenInForce sees one: whether it is connected, and what it was told. */
function socket(name: string, told: string[]) {
  return { connected: true, emit: () => told.push(name) };
}

/** A fence the test answers: each wait resolves when the test says, in order. */
function fence() {
  const waits: Array<(inForce: boolean) => void> = [];
  return { settled: () => new Promise<boolean>((resolve) => waits.push(resolve)), answer: (inForce: boolean) => waits.shift()!(inForce), get waiting() { return waits.length; } };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

test('a socket is told resync once a wait says its channels are in force, not before', async () => {
  const told: string[] = [];
  const f = fence();
  const early = new ResyncWhenInForce(f.settled);
  early.add(socket('a', told));
  f.answer(false);
  await turn();
  expect(told).toEqual([]);
  f.answer(true);
  await turn();
  expect(told).toEqual(['a']);
  expect(early.pending).toBe(0);
});

test('a wait serves the sockets added before it began; those added during it, again or anew, are told after the next', async () => {
  const told: string[] = [];
  const f = fence();
  const early = new ResyncWhenInForce(f.settled);
  const a = socket('a', told);
  early.add(a);
  await turn();
  // a subscribes to more while the wait runs, and b comes: that wait may not cover their channels.
  early.add(a);
  early.add(socket('b', told));
  f.answer(true);
  await turn();
  expect(told).toEqual(['a']);
  expect(f.waiting).toBe(1);
  f.answer(true);
  await turn();
  expect(told).toEqual(['a', 'a', 'b']);
});

test('a socket that disconnected or was forgotten is not told', async () => {
  const told: string[] = [];
  const f = fence();
  const early = new ResyncWhenInForce(f.settled);
  const gone = { ...socket('gone', told), connected: false };
  const forgotten = socket('forgotten', told);
  early.add(gone);
  early.add(forgotten);
  early.forget(forgotten);
  f.answer(true);
  await turn();
  expect(told).toEqual([]);
});

test('channels never reported in force: the sockets are told anyway once it gives up', async () => {
  const told: string[] = [];
  let waits = 0;
  const never = () => {
    waits += 1;
    return new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5));
  };
  const early = new ResyncWhenInForce(never, 50);
  early.add(socket('a', told));
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(told).toEqual(['a']);
  expect(waits).toBeGreaterThan(1);
});
