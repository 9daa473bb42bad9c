import { nextVersion } from '../../../src/presence/domain/version.js';
import { connect, emptyRecord, end } from '../../../src/presence/domain/streamer-record.js';
import type { PresenceTiming, StreamerRecord } from '../../../src/presence/domain/streamer-record.js';
import { intBetween, mulberry32 } from './prng.js';

const T0 = 1_700_000_000_000;
const timing: PresenceTiming = { presenceTtlMs: 110_000, reconnectGraceMs: 10_000 };

describe('nextVersion', () => {
  it.each([
    ['the first event of a streamer', 0, T0, T0 * 1000],
    ['an event in a later ms', T0 * 1000, T0 + 1, (T0 + 1) * 1000],
    ['a second event in the same ms', T0 * 1000, T0, T0 * 1000 + 1],
    ['an event after versions ran ahead of the clock', T0 * 1000 + 5_000, T0 + 2, T0 * 1000 + 5_001],
    ['an event on a clock that stepped back', (T0 + 60_000) * 1000, T0, (T0 + 60_000) * 1000 + 1],
  ])('%s', (_case, previous, now, expected) => {
    expect(nextVersion(previous, now)).toBe(expected);
  });

  it('is above the previous version, never below the clock in µs, and a safe integer (random inputs)', () => {
    const random = mulberry32(7);
    const broken: Array<[number, number, number]> = [];
    for (let i = 0; i < 10_000; i += 1) {
      const now = intBetween(random, 0, 4_102_444_800_000); // up to 2100-01-01
      // Half the time a previous version near the clock, where the two branches of max() meet.
      const previous = random() < 0.5 ? now * 1000 + intBetween(random, -2, 2) : intBetween(random, 0, 4_102_444_800_000 * 1000);
      const next = nextVersion(previous, now);
      if (!(next > previous && next >= now * 1000 && Number.isSafeInteger(next))) broken.push([previous, now, next]);
    }
    expect(broken).toEqual([]);
  });
});

describe('versions across a lost record', () => {
  // A store that restarted empty starts again from emptyRecord; its next version must still beat
  // every version a client may have kept, as long as the clock moved on by at least 1 ms.
  it.each([1, 17, 999])('a record lost after bursts of %i events per ms restarts above every earlier version', (burst) => {
    let record: StreamerRecord = emptyRecord('s');
    let highest = 0;
    let now = T0;
    for (let ms = 0; ms < 5; ms += 1, now += 1) {
      for (let i = 0; i < burst; i += 1) {
        const step = i % 2 === 0 ? connect(record, `c${i}`, now, timing) : end(record, now, timing);
        record = step.next;
        for (const e of step.events) highest = Math.max(highest, e.version);
      }
    }
    expect(highest).toBeGreaterThan(0);
    const reborn = connect(emptyRecord('s'), 'fresh', now, timing);
    expect(reborn.events).toHaveLength(1);
    expect(reborn.events[0]!.version).toBeGreaterThan(highest);
  });
});
