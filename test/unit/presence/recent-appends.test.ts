// RecentAppends: a pod's copy of what it appended to the log, kept for a few seconds, bounded.
import type { LogEntry } from '../../../src/presence/domain/transition-log.js';
import { RecentAppends } from '../../../src/presence/infrastructure/redis/recent-appends.js';

const entry = (n: number): LogEntry => ({
  shard: n % 4,
  id: `${1_000 + n}-0`,
  event: { streamerId: `s${n}`, status: 'online', since: 1_000 + n, version: n + 1, reason: 'connected' },
  at: 1_000 + n,
  pod: 'pod',
});
const ids = (entries: LogEntry[]): string[] => entries.map((e) => e.event.streamerId);

/** A clock, and a store answering every 250 ms (as the sweeper alone makes it) while `answering`. */
function answeringStore(recent: () => RecentAppends) {
  const clock = { now: 0 };
  return {
    clock,
    /** Runs the clock on by `ms`, the store answering throughout, or not at all (an outage). */
    run(ms: number, answering = true): void {
      const until = clock.now + ms;
      while (clock.now < until) {
        clock.now = Math.min(until, clock.now + 250);
        if (answering) recent().answered();
      }
    },
  };
}

test('keeps each entry until the store has been answering for keepMs since, oldest first', () => {
  const store = answeringStore(() => recent);
  const recent = new RecentAppends(5_000, () => store.clock.now);
  recent.answered();
  recent.add(entry(0));
  store.run(3_000);
  recent.add(entry(1));
  expect(ids(recent.entries())).toEqual(['s0', 's1']);
  store.run(1_750);
  expect(ids(recent.entries())).toEqual(['s0', 's1']);
  store.run(250);
  expect(ids(recent.entries())).toEqual(['s1']);
  store.run(3_000);
  expect(recent.entries()).toEqual([]);
});

test('an outage stops the clock: what came just before it is still there when the store answers again', () => {
  const store = answeringStore(() => recent);
  const recent = new RecentAppends(5_000, () => store.clock.now);
  recent.answered();
  store.run(500);
  recent.add(entry(0));
  // Redis unreachable for a minute: no answer; then back.
  store.run(60_000, false);
  expect(ids(recent.entries())).toEqual(['s0']);
  // The gap counts as a second: the recovery has four more seconds of answers to read it.
  store.run(3_750);
  expect(ids(recent.entries())).toEqual(['s0']);
  store.run(500);
  expect(recent.entries()).toEqual([]);
});

test('holds at most `max`, dropping the oldest; a long run keeps memory bounded', () => {
  const recent = new RecentAppends(60_000, () => 0, 100);
  for (let n = 0; n < 10_000; n += 1) recent.add(entry(n));
  const kept = recent.entries();
  expect(kept).toHaveLength(100);
  expect(kept[0]!.event.streamerId).toBe('s9900');
  expect(kept[99]!.event.streamerId).toBe('s9999');
  // Compacted as it goes: the backing array is not 10,000 long.
  expect((recent as unknown as { kept: unknown[] }).kept.length).toBeLessThan(2_300);
});
