import { awayFromPodSide, cutAtLapse, cutAtPodClose, cutAtReconnects, endLastSpan, judge, type LiveSpan, type Reconnect, type Sighting, type ViewerRecord } from '../../soak/oracle.js';

// A streamer live from 10 s to 60 s (ended then), one viewer watching it throughout.
const T = 1_800_000_000_000;
const timing = { ttlMs: 5_000, slackMs: 1_000 };
const spans: LiveSpan[] = [{ streamerId: 's', from: T + 10_000, until: T + 60_000, ending: 'end' }];
const online: Sighting = { streamerId: 's', status: 'online', version: 1, since: T + 10_000, reason: 'connected', at: T + 10_050 };
const offline: Sighting = { streamerId: 's', status: 'offline', version: 2, since: T + 60_000, reason: 'ended', at: T + 60_040 };
const logged = [
  { streamerId: 's', version: 1, at: T + 10_000 },
  { streamerId: 's', version: 2, at: T + 60_000 },
];
const viewer = (sightings: Sighting[], away: ViewerRecord['away'] = []): ViewerRecord => ({ label: 'v', streamerIds: ['s'], sightings, away });
const END = T + 120_000;

test('what a correct service shows passes every check', () => {
  expect(judge(spans, [viewer([online, offline])], logged, timing, END)).toEqual({ falseOffline: [], ghosts: [], duplicateDistinct: [], sameVersionRepeats: 0, repeatTimes: [], lostToViewers: [], readLate: [] });
});

test('an offline in the middle of the live span is a false offline (and what followed is judged too)', () => {
  const flap: Sighting = { streamerId: 's', status: 'offline', version: 2, since: T + 30_000, reason: 'timeout', at: T + 30_100 };
  const back: Sighting = { ...online, version: 3, since: T + 31_000, at: T + 31_050 };
  const verdict = judge(spans, [viewer([online, flap, back, { ...offline, version: 4 }])], [], timing, END);
  expect(verdict.falseOffline).toHaveLength(1);
});

test('still online in the view after the end + TTL + 1 s: a ghost; not while the viewer was away', () => {
  expect(judge(spans, [viewer([online])], [], timing, END).ghosts).toHaveLength(1);
  expect(judge(spans, [viewer([online], [{ from: T + 59_000, until: T + 70_000 }])], [], timing, END).ghosts).toEqual([]);
});

test('an offline the generator read late, after a stall that began in time: not a ghost; one it read late after a free moment past the bound still is', () => {
  // Ended at 60 s, judged at 60 + 5 + 1 + 1 s = 67 s. The generator read the offline at 75 s, in the first
  // turn after it was starved from 64 s: it may have been waiting there since then.
  const starved: Sighting = { ...offline, at: T + 75_000, readFrom: T + 64_000 };
  expect(judge(spans, [viewer([online, starved])], [], timing, END)).toMatchObject({ ghosts: [], readLate: [expect.stringContaining('read at')] });
  const free: Sighting = { ...offline, at: T + 75_000, readFrom: T + 74_980 };
  expect(judge(spans, [viewer([online, free])], [], timing, END).ghosts).toHaveLength(1);
});

test('a span shorter than a second is judged too: its own start is not a new span that excuses a ghost', () => {
  const short: LiveSpan[] = [{ streamerId: 's', from: T + 59_500, until: T + 60_000, ending: 'silent' }];
  expect(judge(short, [viewer([{ ...online, since: T + 59_500, at: T + 59_550 }])], [], timing, END).ghosts).toHaveLength(1);
});

test('the online of the next span, decided by the server a few ms before the driver dated that span, is not a ghost of the one before; the old online still is', () => {
  // Crashed at 60 s: judged at 60 + 5 + 1 + 1 s. The streamer connects again then: the server's connect
  // is dated 5 ms before the span the driver records, and reaches the viewer 2 ms before the judging.
  const crashed: LiveSpan[] = [
    { streamerId: 's', from: T + 10_000, until: T + 60_000, ending: 'crash' },
    { streamerId: 's', from: T + 67_001, until: T + 90_000, ending: 'end' },
  ];
  const closed: Sighting = { ...offline, reason: 'disconnected', since: T + 62_000, at: T + 62_050 };
  const again: Sighting = { ...online, version: 3, since: T + 66_996, at: T + 66_998 };
  const ended: Sighting = { ...offline, version: 4, since: T + 90_000, at: T + 90_040 };
  expect(judge(crashed, [viewer([online, closed, again, ended])], [], timing, END).ghosts).toEqual([]);
  // Never shown offline: the online it still holds is the crashed span's.
  expect(judge(crashed, [viewer([online, ended])], [], timing, END).ghosts).toEqual([`v: s online 7000 ms after its crash at ${T + 60_000}`]);
});

test('away from when the pod let go of the socket, not from when the starved client noticed: what came between is not lost', () => {
  // The pod closed the viewer's socket at 30 s; its client noticed at 34.4 s and subscribed again at 40 s.
  // The offline at 31 s never reached it.
  const late: ViewerRecord = viewer([online], [{ from: T + 34_400, until: T + 40_000 }]);
  const flap: LiveSpan[] = [
    { streamerId: 's', from: T + 10_000, until: T + 31_000, ending: 'end' },
  ];
  const logged31 = [{ streamerId: 's', version: 1, at: T + 10_000 }, { streamerId: 's', version: 2, at: T + 31_000 }];
  const snapshotAfter: Sighting = { streamerId: 's', status: 'offline', version: 2, since: T + 31_000, at: T + 40_000 };
  const seen = { ...late, sightings: [online, snapshotAfter] };
  expect(judge(flap, [seen], logged31, timing, END).lostToViewers).toEqual(['v: s v2']);
  expect(judge(flap, [awayFromPodSide(seen, [T + 30_000])], logged31, timing, END).lostToViewers).toEqual([]);
  // A close the client noticed in time, or one inside a span already begun, changes nothing.
  expect(awayFromPodSide(seen, [T + 36_000]).away).toEqual(seen.away);
  expect(awayFromPodSide(seen, [T + 50_000]).away).toEqual(seen.away);
});

test('one version as two different events is a duplicate; the same event twice is a repeat', () => {
  const twin: Sighting = { ...offline, reason: 'timeout' };
  expect(judge(spans, [viewer([online, offline, twin])], logged, timing, END).duplicateDistinct).toHaveLength(1);
  const verdict = judge(spans, [viewer([online, offline, { ...offline, at: offline.at + 5 }])], logged, timing, END);
  expect([verdict.duplicateDistinct, verdict.sameVersionRepeats]).toEqual([[], 1]);
});

test('a logged transition a connected viewer never got is lost; one that came while it was away is not', () => {
  expect(judge(spans, [viewer([online])], logged, timing, END).lostToViewers).toEqual(['v: s v2']);
  expect(judge(spans, [viewer([online], [{ from: T + 59_500, until: T + 61_000 }])], logged, timing, END).lostToViewers).toEqual([]);
});

// The 5-minute runs' "303 lost" and "46 lost" (RELIABILITY.md, finding 8): transitions dated by when the
// soak read them, and viewers judged from before they existed. A viewer is away until its first
// subscription, and a transition is dated by its decision.
test('a viewer is asked only for transitions decided after its first subscription; a later snapshot does not excuse a lost event', () => {
  const subscribedAt = T + 12_000;
  const snapshot: Sighting = { streamerId: 's', status: 'online', version: 1, since: T + 10_000, at: subscribedAt };
  expect(judge(spans, [viewer([snapshot], [{ from: 0, until: subscribedAt }])], logged, timing, END).lostToViewers).toEqual(['v: s v2']);
  const muchLater: Sighting = { ...snapshot, version: 2, status: 'offline', at: T + 61_000 + 5_000 };
  expect(judge(spans, [viewer([online, muchLater])], logged, timing, END).lostToViewers).toEqual(['v: s v2']);
});

// Full-scale soaks on 2 cores: the generator's heartbeat timers fired up to 20 s late (RELIABILITY.md,
// finding 6), and every lease that then lapsed counted as a false offline. The contract allows that
// offline; what the client sent decides it.
describe('cutAtLapse: a heartbeat sent over a TTL after the one before', () => {
  const live: LiveSpan = { streamerId: 's', from: T + 10_000, until: Number.POSITIVE_INFINITY, ending: 'live' };

  test('in time (even just at the TTL): the span goes on', () => {
    expect(cutAtLapse(live, T + 20_000, T + 25_000, timing.ttlMs)).toBeNull();
  });

  test('late: the span ends at the last one + TTL and a new one starts at this one', () => {
    expect(cutAtLapse(live, T + 20_000, T + 27_000, timing.ttlMs)).toEqual({
      ended: { ...live, until: T + 25_000, ending: 'lapsed' },
      next: { streamerId: 's', from: T + 27_000, until: Number.POSITIVE_INFINITY, ending: 'live' },
    });
  });

  test('sent within the transit slack of the TTL: it may arrive after the lease ran out, but no offline is allowed before the last one + TTL', () => {
    expect(cutAtLapse(live, T + 20_000, T + 24_800, timing.ttlMs, 2_000)).toEqual({
      ended: { ...live, until: T + 25_000, ending: 'lapsed' },
      next: { streamerId: 's', from: T + 25_000, until: Number.POSITIVE_INFINITY, ending: 'live' },
    });
    // Heartbeats on time (every 2 s) are not excused by the slack.
    expect(cutAtLapse(live, T + 20_000, T + 22_500, timing.ttlMs, 2_000)).toBeNull();
    const { ended, next } = cutAtLapse(live, T + 20_000, T + 24_800, timing.ttlMs, 2_000)!;
    const cut = [ended, { ...next, until: T + 60_000, ending: 'end' as const }];
    const late = (since: number): Sighting => ({ streamerId: 's', status: 'offline', version: 2, since, reason: 'timeout', at: since + 20 });
    const back: Sighting = { ...online, version: 3, since: T + 25_320, at: T + 25_340 };
    // The store took the last one 300 ms after it was sent; the next came 20 ms after the lease ran out.
    expect(judge(cut, [viewer([online, late(T + 25_300), back, { ...offline, version: 4 }])], [], timing, END).falseOffline).toEqual([]);
    // An offline before the last heartbeat + TTL is still false, slack or not.
    expect(judge(cut, [viewer([online, late(T + 23_000), back, { ...offline, version: 4 }])], [], timing, END).falseOffline).toHaveLength(1);
  });

  test('an `end` sent after the heartbeat but before the lapse it may have come after ends the lapsed span, not one that never began', () => {
    const { ended, next } = cutAtLapse(live, T + 20_000, T + 24_000, timing.ttlMs, 2_000)!;
    expect(endLastSpan([ended, next], T + 24_500, 'end')).toEqual([{ ...live, until: T + 24_500, ending: 'end' }]);
    const endedAt: Sighting = { ...offline, version: 4, since: T + 24_500, at: T + 24_520 };
    expect(judge(endLastSpan([ended, next], T + 24_500, 'end'), [viewer([online, endedAt])], [], timing, END).falseOffline).toEqual([]);
    // After the lapse, the span begun by the heartbeat is the one that ends.
    expect(endLastSpan([ended, next], T + 40_000, 'end')).toEqual([ended, { ...next, until: T + 40_000, ending: 'end' }]);
  });

  test('the offline at the lapse and the online after it are neither a false offline nor a ghost; an offline without a lapse still is', () => {
    const { ended, next } = cutAtLapse(live, T + 20_000, T + 27_000, timing.ttlMs)!;
    const lapsedSpans = [ended, { ...next, until: T + 60_000, ending: 'end' as const }];
    const lapsedOffline: Sighting = { streamerId: 's', status: 'offline', version: 2, since: T + 25_000, reason: 'timeout', at: T + 25_100 };
    const back: Sighting = { ...online, version: 3, since: T + 27_000, at: T + 27_050 };
    const ended2: Sighting = { ...offline, version: 4 };
    const verdict = judge(lapsedSpans, [viewer([online, lapsedOffline, back, ended2])], [], timing, END);
    expect([verdict.falseOffline, verdict.ghosts]).toEqual([[], []]);
    expect(judge(spans, [viewer([online, lapsedOffline, back, ended2])], [], timing, END).falseOffline).toHaveLength(1);
  });
});

describe('cutAtReconnects: a lost connection replaced after it stopped keeping its streamer online', () => {
  const soakTiming = { ttlMs: 5_000, graceMs: 2_000 };
  const noClose = new Map<string, number>();
  // The streamer's app meant to be live from 10 s to 60 s, then ended; a connection was lost at 30 s.
  const back: Sighting = { ...online, version: 3, since: T + 32_400, at: T + 32_450 };
  const ended: Sighting = { ...offline, version: 4 };
  const offlineAt = (since: number, reason: string): Sighting => ({ streamerId: 's', status: 'offline', version: 2, since, reason, at: since + 50 });

  test('drained by its pod at 30 s, noticed by the starved app at 33 s, back at 32.4 s: the offline at close + grace is allowed', () => {
    const drained: Reconnect = { streamerId: 's', socketId: 'old', noticedAt: T + 33_000, lastBeatAt: T + 29_500, backAt: T + 32_400 };
    const seen = viewer([online, offlineAt(T + 32_000, 'disconnected'), back, ended]);
    const cut = cutAtReconnects(spans, [drained], new Map([['old', T + 30_000]]), soakTiming);
    expect(cut).toEqual([
      { ...spans[0]!, until: T + 32_000, ending: 'crash' },
      { ...spans[0]!, from: T + 32_400 },
    ]);
    expect(judge(cut, [seen], [], timing, END).falseOffline).toEqual([]);
    // Dated by the app alone, the reconnect looks in time, and the offline false.
    expect(cutAtReconnects(spans, [drained], noClose, soakTiming)).toEqual(spans);
  });

  test('its pod SIGKILLed (no close logged): the lease ran out a TTL after the last heartbeat, before the reconnect', () => {
    const killed: Reconnect = { streamerId: 's', socketId: 'old', noticedAt: T + 32_000, lastBeatAt: T + 28_000, backAt: T + 33_500 };
    const cut = cutAtReconnects(spans, [killed], noClose, soakTiming);
    expect(cut.map((span) => [span.from - T, span.until - T, span.ending])).toEqual([
      [10_000, 33_000, 'crash'],
      [33_500, 60_000, 'end'],
    ]);
    expect(judge(cut, [viewer([online, offlineAt(T + 33_000, 'timeout'), { ...back, since: T + 33_500, at: T + 33_550 }, ended])], [], timing, END).falseOffline).toEqual([]);
  });

  test('back within the grace: nothing is cut, and an offline then is still a false one', () => {
    const moved: Reconnect = { streamerId: 's', socketId: 'old', noticedAt: T + 30_100, lastBeatAt: T + 29_500, backAt: T + 31_000 };
    const cut = cutAtReconnects(spans, [moved], new Map([['old', T + 30_000]]), soakTiming);
    expect(cut).toEqual(spans);
    expect(judge(cut, [viewer([online, offlineAt(T + 32_000, 'disconnected'), back, ended])], [], timing, END).falseOffline).toHaveLength(1);
  });
});

test("a silent app's span ends at its socket's close + grace when a pod let it go before the TTL ran out; a close after the span's end changes nothing", () => {
  // Silent: last heartbeat at 39 s, so live until 44 s by the TTL; its pod drained and closed the socket at 40.7 s.
  const silent: LiveSpan[] = [{ streamerId: 's', from: T + 33_500, until: T + 44_000, ending: 'silent' }];
  const ends = [{ streamerId: 's', socketId: 'sock-1', until: T + 44_000 }];
  const cut = cutAtPodClose(silent, ends, new Map([['sock-1', T + 40_700]]), 2_000);
  expect(cut).toEqual([{ ...silent[0], until: T + 42_700 }]);
  const drained: Sighting = { streamerId: 's', status: 'offline', version: 2, since: T + 42_700, reason: 'disconnected', at: T + 42_720 };
  const onlineAgain: Sighting = { streamerId: 's', status: 'online', version: 1, since: T + 33_500, reason: 'connected', at: T + 33_520 };
  expect(judge(silent, [viewer([onlineAgain, drained])], [], timing, END).falseOffline).toHaveLength(1);
  expect(judge(cut, [viewer([onlineAgain, drained])], [], timing, END).falseOffline).toEqual([]);
  // The pod's close came after the span ended (the app closed it): nothing to cut; another socket: neither.
  expect(cutAtPodClose(silent, ends, new Map([['sock-1', T + 45_000]]), 2_000)).toEqual(silent);
  expect(cutAtPodClose(silent, ends, new Map([['sock-2', T + 40_700]]), 2_000)).toEqual(silent);
});
