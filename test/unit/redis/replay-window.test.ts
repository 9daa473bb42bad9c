// What the replay after an outage sends again to a pod's viewers (src/redis/replay-window.ts).
import type { LogEntry } from '../../../src/presence/domain/transition-log.js';
import { isReplayed, type ReplayWindow } from '../../../src/redis/replay-window.js';

// The pod's outage began at 100,000 (less the margin: from 97,000); its connections were all back at
// 104,000 (plus the margin: 107,000); an entry appended again after a loss counts if decided from 90,000.
const WINDOW: ReplayWindow = { from: 97_000, decidedFrom: 90_000, appendedUntil: 107_000 };

function entry(appendedAt: number, decidedAt: number, viewersHad?: number): LogEntry {
  const event = { streamerId: 's', status: 'online' as const, since: decidedAt, version: decidedAt * 1_000, reason: 'connected' as const };
  return { shard: 0, id: `${appendedAt}-0`, event, at: decidedAt, pod: 'p', ...(viewersHad === undefined ? {} : { viewersHad }) };
}

test.each([
  ['decided and appended while the pod was down', entry(101_000, 101_000), true],
  ['appended just before the pod noticed (within the margin)', entry(98_000, 98_000), true],
  ['appended after its connections were back, margin included: a relay sent it to them', entry(108_000, 108_000), false],
  ['appended just after they were back (within the margin)', entry(106_000, 106_000), true],
  ['appended again after a loss, decided in the seconds before the outage, never delivered', entry(105_000, 95_000), true],
  ['appended again, decided well before the outage', entry(105_000, 80_000), false],
  ['appended again, delivered by the relays before the outage began', entry(105_000, 95_000, 96_000), false],
  ['appended again, delivered by the relays after the outage began (its subscriptions may have been down)', entry(105_000, 95_000, 98_000), true],
  ['appended again late (after the connections were back), delivered in the outage: the relays skip it', entry(112_000, 95_000, 99_000), true],
  ['appended again late, never delivered: the relays send it now', entry(112_000, 95_000), false],
  ['appended again, decided long before but delivered by a lagging relay after the outage began', entry(105_000, 80_000, 98_000), true],
])('%s', (_name, logged, replayed) => {
  expect(isReplayed(logged, WINDOW)).toBe(replayed);
});

test("a Cluster's window has no end: its sharded subscribers may come back after the rest", () => {
  expect(isReplayed(entry(500_000, 500_000), { ...WINDOW, appendedUntil: Infinity })).toBe(true);
});
