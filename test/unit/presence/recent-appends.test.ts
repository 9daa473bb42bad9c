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

test('keeps each entry for keepMs, oldest first', () => {
  let now = 0;
  const recent = new RecentAppends(5_000, () => now);
  recent.add(entry(0));
  now = 3_000;
  recent.add(entry(1));
  expect(ids(recent.entries())).toEqual(['s0', 's1']);
  now = 4_999;
  expect(ids(recent.entries())).toEqual(['s0', 's1']);
  now = 5_000;
  expect(ids(recent.entries())).toEqual(['s1']);
  now = 8_000;
  expect(recent.entries()).toEqual([]);
});

test('holds at most `max`, dropping the oldest; a long run keeps memory bounded', () => {
  const now = 0;
  const recent = new RecentAppends(60_000, () => now, 100);
  for (let n = 0; n < 10_000; n += 1) recent.add(entry(n));
  const kept = recent.entries();
  expect(kept).toHaveLength(100);
  expect(kept[0]!.event.streamerId).toBe('s9900');
  expect(kept[99]!.event.streamerId).toBe('s9999');
  // Compacted as it goes: the backing array is not 10,000 long.
  expect((recent as unknown as { kept: unknown[] }).kept.length).toBeLessThan(2_300);
});
