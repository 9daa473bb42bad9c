import { jest } from '@jest/globals';
import type { LogEntry } from '../../../src/presence/domain/transition-log.js';
import { type ChainDeps, WebhookChains } from '../../../src/webhooks/webhook-chains.js';

const T0 = 1_800_000_000_000;

let seq = 0;
/** A log entry with an id of its own, as the log gives each (the same entry read twice keeps its id). */
function entry(streamerId: string, version: number, shard = 0, at = T0): LogEntry {
  seq += 1;
  return { shard, id: `${at}-${seq}`, event: { streamerId, status: 'online', since: at, version, reason: 'connected' }, at, pod: 'p' };
}

/** A receiver the test answers by hand: each attempt waits until the test resolves it. */
function harness(options: Partial<ChainDeps> = {}) {
  const attempts: Array<{ key: string; at: number; answer: (ok: boolean) => void }> = [];
  const acked: string[] = [];
  const dead: string[] = [];
  const deps: ChainDeps = {
    send: (e) => new Promise<boolean>((resolve) => attempts.push({ key: `${e.event.streamerId}:${e.event.version}`, at: Date.now(), answer: resolve })),
    ack: async (e) => {
      acked.push(`${e.event.streamerId}:${e.event.version}`);
    },
    mayDeliver: () => true,
    onAttempt: () => {},
    onDeadLetter: (e) => dead.push(`${e.event.streamerId}:${e.event.version}`),
    onHeldChanged: () => {},
    retentionMs: 60_000,
    maxConcurrent: 16,
    random: () => 0,
    ...options,
  };
  return { chains: new WebhookChains(deps), attempts, acked, dead, open: () => attempts.filter((a) => !('done' in a)) };
}

/** Lets pending promise callbacks run. */
const settle = () => jest.advanceTimersByTimeAsync(0);

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
});
afterEach(() => {
  jest.useRealTimers();
});

test('one streamer in version order, one attempt at a time; other streamers do not wait for it', async () => {
  const { chains, attempts, acked } = harness();
  chains.hold(entry('a', 1));
  chains.hold(entry('a', 2));
  chains.hold(entry('b', 1));
  await settle();
  expect(attempts.map((a) => a.key)).toEqual(['a:1', 'b:1']);
  attempts[1]!.answer(true);
  await settle();
  expect(acked).toEqual(['b:1']);
  attempts[0]!.answer(true);
  await settle();
  expect(attempts.map((a) => a.key)).toEqual(['a:1', 'b:1', 'a:2']);
  expect(acked).toEqual(['b:1', 'a:1']);
  expect(chains.held).toBe(1);
});

test('a failure is retried with backoff (first within 2 s), without holding up other streamers', async () => {
  const { chains, attempts } = harness();
  chains.hold(entry('a', 1));
  await settle();
  attempts[0]!.answer(false);
  await settle();
  chains.hold(entry('b', 1));
  await settle();
  expect(attempts.map((a) => a.key)).toEqual(['a:1', 'b:1']);
  await jest.advanceTimersByTimeAsync(500); // random() = 0: the first retry comes after 500 ms
  expect(attempts.map((a) => a.key)).toEqual(['a:1', 'b:1', 'a:1']);
  attempts[2]!.answer(false);
  await jest.advanceTimersByTimeAsync(999);
  expect(attempts).toHaveLength(3);
  await jest.advanceTimersByTimeAsync(1); // the second after 1 s
  expect(attempts).toHaveLength(4);
});

test('never acknowledged: dead-lettered once the retention has passed, and the streamer goes on', async () => {
  const { chains, attempts, acked, dead } = harness({ retentionMs: 5_000 });
  chains.hold(entry('a', 1));
  chains.hold(entry('a', 2, 0, T0 + 4_000));
  for (let i = 0; i < 20 && dead.length === 0; i += 1) {
    await settle();
    for (const a of attempts.filter((x) => x.key === 'a:1')) a.answer(false);
    await jest.advanceTimersByTimeAsync(250);
  }
  expect(dead).toEqual(['a:1']);
  expect(Date.now() - T0).toBeGreaterThanOrEqual(5_000);
  expect(acked).toEqual(['a:1']);
  await settle();
  expect(attempts.at(-1)!.key).toBe('a:2');
});

test('at most maxConcurrent requests; a queued chain whose shard was dropped does not stall the queue', async () => {
  const { chains, attempts } = harness({ maxConcurrent: 1 });
  chains.hold(entry('x', 1, 0));
  chains.hold(entry('y', 1, 1));
  chains.hold(entry('z', 1, 0));
  await settle();
  expect(attempts.map((a) => a.key)).toEqual(['x:1']);
  chains.dropShard(1);
  attempts[0]!.answer(true);
  await settle();
  expect(attempts.map((a) => a.key)).toEqual(['x:1', 'z:1']);
  expect(chains.heldIn(1)).toBe(0);
});

test('nothing is sent for a shard while its lease is in doubt', async () => {
  let sure = false;
  const { chains, attempts } = harness({ mayDeliver: () => sure });
  chains.hold(entry('a', 1));
  await jest.advanceTimersByTimeAsync(2_000);
  expect(attempts).toEqual([]);
  sure = true;
  await jest.advanceTimersByTimeAsync(500);
  expect(attempts.map((a) => a.key)).toEqual(['a:1']);
});

/** An acknowledgement that fails until `works` is set, recording the id of every entry it was asked for. */
function flakyAck(): { acks: string[]; works: boolean; ack: ChainDeps['ack'] } {
  const state = {
    acks: [] as string[],
    works: false,
    ack: async (e: LogEntry) => {
      state.acks.push(e.id);
      if (!state.works) throw new Error('redis down');
    },
  };
  return state;
}

test('a failed acknowledgement is retried, and the entry is not sent again meanwhile', async () => {
  const redis = flakyAck();
  const { acks } = redis;
  const { chains, attempts } = harness({ ack: redis.ack });
  const first = entry('a', 1);
  chains.hold(first);
  await settle();
  attempts[0]!.answer(true);
  await settle();
  chains.hold(first); // read back from the log, still pending there
  await settle();
  expect(attempts).toHaveLength(1);
  redis.works = true;
  await chains.retryAcks();
  expect(acks).toEqual([first.id, first.id]);
  await chains.retryAcks();
  expect(acks).toHaveLength(2);
});

test('acknowledgements tried again stop at the first that fails again: the rest wait for the next round', async () => {
  const redis = flakyAck();
  const { acks } = redis;
  const { chains, attempts } = harness({ ack: redis.ack });
  const held = [entry('a', 1), entry('b', 1), entry('c', 1)];
  for (const e of held) chains.hold(e);
  await settle();
  for (const attempt of attempts) attempt.answer(true);
  await settle();
  expect(acks).toHaveLength(3);

  await chains.retryAcks();
  expect(acks).toHaveLength(4);
  redis.works = true;
  await chains.retryAcks();
  expect(acks.slice(4)).toEqual(held.map((e) => e.id));
  await chains.retryAcks();
  expect(acks).toHaveLength(7);
});
