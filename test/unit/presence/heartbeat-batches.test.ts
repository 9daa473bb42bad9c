import { callsOf, MAX_BATCH, type PendingHeartbeat } from '../../../src/presence/infrastructure/redis/heartbeat-batches.js';

// How a turn's heartbeats are cut into script calls: on one Redis, every shard's share a call; on a
// Cluster, a call is one shard's (a script may not mix slots). Either way at most MAX_BATCH a call, in
// the order they came within each shard.
function pending(shard: number, n: number): PendingHeartbeat[] {
  return Array.from({ length: n }, (_, i) => ({ streamerId: `s${shard}-${i}`, connectionId: 'c', meta: '', silentForMs: 0, receivedAt: 0, resolve: () => {}, reject: () => {} }));
}

function shape(calls: ReturnType<typeof callsOf>): Array<Array<[number, number]>> {
  return calls.map((call) => call.map(({ shard, heartbeats }) => [shard, heartbeats.length]));
}

const turn = new Map([
  [3, pending(3, 50)],
  [0, pending(0, 100)],
  [1, pending(1, 10)],
]);

it('on one Redis, the shards of a turn share calls, cut at MAX_BATCH heartbeats', () => {
  const calls = callsOf(turn, true);
  expect(shape(calls)).toEqual([
    [
      [3, 50],
      [0, MAX_BATCH - 50],
    ],
    [
      [0, 100 - (MAX_BATCH - 50)],
      [1, 10],
    ],
  ]);
  // Every heartbeat once, in its shard's order.
  const ids = calls.flat().flatMap(({ heartbeats }) => heartbeats.map((h) => h.streamerId));
  expect(ids).toEqual([...turn.values()].flat().map((h) => h.streamerId));
});

it('on a Cluster, each call is one shard’s', () => {
  expect(shape(callsOf(turn, false))).toEqual([[[3, 50]], [[0, 100]], [[1, 10]]]);
  expect(shape(callsOf(new Map([[2, pending(2, 2 * MAX_BATCH + 1)]]), false))).toEqual([[[2, MAX_BATCH]], [[2, MAX_BATCH]], [[2, 1]]]);
});

it('a turn with nothing in it makes no call', () => {
  expect(callsOf(new Map(), true)).toEqual([]);
});
