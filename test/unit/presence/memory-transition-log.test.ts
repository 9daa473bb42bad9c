import type { PresenceEvent } from '../../../src/presence/domain/presence-state.js';
import { MemoryTransitionLog } from '../../../src/presence/infrastructure/memory-transition-log.js';

const T0 = 1_800_000_000_000;
const event = (version: number): PresenceEvent => ({ streamerId: 's', status: 'online', since: T0, version, reason: 'connected' });

test('bounded by count as well as by age: the newest entries are kept, and what was dropped early is reported', async () => {
  const now = T0;
  const log = new MemoryTransitionLog(86_400_000, () => now, 100);
  const ids = Array.from({ length: 150 }, (_, i) => log.append(event(i + 1), now, 'p').id);
  const read = await log.readAfter([null], 1_000);
  expect(read.shards[0]!.map((e) => e.event.version)).toEqual(Array.from({ length: 100 }, (_, i) => i + 51));
  expect(read.droppedThrough).toEqual([ids[49]]);
  // A consumer group reads on from what is kept.
  expect((await log.takeNew('g', 'c', [0], 1_000, 0)).map((e) => e.event.version)[0]).toBe(51);
});

test('by age: a day-old entry is gone to readers at the retention, and dropped a tenth later', async () => {
  let now = T0;
  const log = new MemoryTransitionLog(10_000, () => now);
  log.append(event(1), now, 'p');
  now = T0 + 10_001;
  expect((await log.readAfter([null], 10)).shards[0]).toEqual([]);
  // Still there for a relay that had not taken it (so it can dead-letter it), until retention + 10 %.
  expect(await log.takeNew('g', 'c', [0], 10, 0)).toHaveLength(1);
});
