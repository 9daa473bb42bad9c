import type { PresenceTiming } from '../../../src/presence/domain/streamer-record.js';
import { connect, emptyRecord, expire, heartbeat, nextDeadline } from '../../../src/presence/domain/streamer-record.js';
import { at, brief, expectVersionsIncrease, run, STREAMER } from './script.js';

/**
 * The rules of CONTRACT.md "When a streamer is online", one scenario per rule, with exact timestamps.
 * Every scenario runs under the production timing and a scaled-down one, since tests of the whole
 * service run with durations of a few hundred ms and the rules must not depend on the scale.
 */
const T0 = 1_700_000_000_000;
const TIMINGS: ReadonlyArray<[string, PresenceTiming]> = [
  ['production timing (TTL 110 s, grace 10 s)', { presenceTtlMs: 110_000, reconnectGraceMs: 10_000 }],
  ['scaled-down timing (TTL 400 ms, grace 250 ms)', { presenceTtlMs: 400, reconnectGraceMs: 250 }],
];

describe.each(TIMINGS)('streamer record rules, %s', (_name, timing) => {
  const ttl = timing.presenceTtlMs;
  const grace = timing.reconnectGraceMs;

  describe('connect', () => {
    it('brings a never-seen streamer online with one `connected` event, since = now', () => {
      const { events, record } = run([at.connect('a', T0)], timing);
      expect(events).toEqual([{ streamerId: STREAMER, status: 'online', since: T0, version: T0 * 1000, reason: 'connected' }]);
      expect(record.state).toEqual({ streamerId: STREAMER, status: 'online', since: T0, version: T0 * 1000 });
      expect(record.connections).toEqual({ a: { liveUntil: T0 + ttl, closed: false } });
    });

    it('of a second connection while online changes nothing viewers see', () => {
      const { perStep, record } = run([at.connect('a', T0), at.connect('b', T0 + 7)], timing);
      expect(perStep[1]).toEqual([]);
      expect(record.state.since).toBe(T0);
      expect(Object.keys(record.connections).sort()).toEqual(['a', 'b']);
    });
  });

  describe('heartbeat', () => {
    it('renews the lease without an event, each time just before it would run out', () => {
      const beats = [1, 2, 3, 4, 5].map((i) => T0 + i * (ttl - 1));
      const last = beats[beats.length - 1]!;
      const { perStep } = run(
        [at.connect('a', T0), ...beats.flatMap((t) => [at.expire(t), at.heartbeat('a', t)]), at.expire(last + ttl - 1)],
        timing,
      );
      expect(perStep.slice(1).flat()).toEqual([]);
      const after = run([at.connect('a', T0), ...beats.map((t) => at.heartbeat('a', t)), at.expire(last + ttl)], timing);
      expect(brief(after.perStep[after.perStep.length - 1]!)).toEqual([['offline', 'timeout', last + ttl]]);
    });
  });

  describe('re-assert (a heartbeat sent for a client silent for silentForMs)', () => {
    // The deadline the store already holds is never moved earlier, alone or beside another connection.
    it.each([['one connection', ['a']], ['two connections', ['a', 'b']]])('%s: the lease runs out at now + TTL − silentForMs, never earlier than it did', (_case, ids) => {
      let record = emptyRecord(STREAMER);
      for (const id of ids) record = connect(record, id, T0, timing).next;
      const now = T0 + ttl / 2;
      // Silent for a quarter of the TTL: renewed to now + 3/4 TTL, past the connect's T0 + TTL.
      expect(heartbeat(record, 'a', now, timing, undefined, ttl / 4).next.connections.a).toEqual({ liveUntil: now + ttl - ttl / 4, closed: false });
      // Silent for three quarters (longer than the pod knew): now + TTL/4 would come before T0 + TTL, so that stands.
      const kept = heartbeat(record, 'a', now, timing, undefined, (ttl * 3) / 4);
      expect(kept.next.connections.a).toEqual({ liveUntil: T0 + ttl, closed: false });
      expect(kept.events).toEqual([]);
      expect(kept.next.state).toBe(record.state);
    });
  });

  describe('TTL expiry', () => {
    it('gives nothing 1 ms before the deadline', () => {
      const { events } = run([at.connect('a', T0), at.expire(T0 + ttl - 1)], timing);
      expect(brief(events)).toEqual([['online', 'connected', T0]]);
    });

    it.each([0, 1, 999, 3 * 110_000])('times out exactly at last heartbeat + TTL, since = the deadline, when the sweep runs %i ms late', (late) => {
      const deadline = T0 + ttl;
      const { perStep, record } = run([at.connect('a', T0), at.expire(deadline + late)], timing);
      expect(perStep[1]).toEqual([
        { streamerId: STREAMER, status: 'offline', since: deadline, version: (deadline + late) * 1000, reason: 'timeout' },
      ]);
      expect(record.state.status).toBe('offline');
      // Its socket may still be open: parked, its place kept for a TTL after the deadline (its pod renews
      // that while the socket is open), then gone.
      if (late < ttl) {
        expect(record.connections).toEqual({ a: { liveUntil: deadline + ttl, closed: false, parked: true } });
        expect(nextDeadline(record)).toBe(deadline + ttl);
      } else {
        expect(record.connections).toEqual({});
        expect(nextDeadline(record)).toBeNull();
      }
    });

    it('gives the event once: a second sweep finds nothing', () => {
      const { perStep } = run([at.connect('a', T0), at.expire(T0 + ttl), at.expire(T0 + ttl), at.expire(T0 + 5 * ttl)], timing);
      expect(perStep.slice(2).flat()).toEqual([]);
    });

    it('is undone by a later heartbeat on the same connection (`connected`, since = that heartbeat)', () => {
      const back = T0 + ttl + 5_000;
      const { perStep, events, record } = run([at.connect('a', T0), at.expire(T0 + ttl), at.heartbeat('a', back)], timing);
      expect(brief(perStep[2]!)).toEqual([['online', 'connected', back]]);
      expect(record.state.status).toBe('online');
      expectVersionsIncrease(events);
    });

    it.each([0, 1, 2_000])(
      'a heartbeat %i ms after the deadline but before any sweep yields the `timeout` and then the `connected`',
      (late) => {
        const deadline = T0 + ttl;
        const now = deadline + late;
        const { perStep } = run([at.connect('a', T0), at.heartbeat('a', now)], timing);
        expect(perStep[1]).toEqual([
          { streamerId: STREAMER, status: 'offline', since: deadline, version: now * 1000, reason: 'timeout' },
          { streamerId: STREAMER, status: 'online', since: now, version: now * 1000 + 1, reason: 'connected' },
        ]);
      },
    );
  });

  describe('close and the reconnect grace', () => {
    // Where the close falls in the lease: TTL left far above the grace, just under it, and 1 ms.
    const closeOffsets: ReadonlyArray<[string, number]> = [
      ['most of the TTL left (longer than the grace)', 1],
      ['less TTL left than the grace', ttl - Math.floor(grace / 2)],
      ['1 ms of TTL left', ttl - 1],
    ];

    it.each(closeOffsets)('goes offline (`disconnected`) at close + grace exactly, with %s', (_case, offset) => {
      const closedAt = T0 + offset;
      const { perStep } = run(
        [at.connect('a', T0), at.close('a', closedAt), at.expire(closedAt + grace - 1), at.expire(closedAt + grace)],
        timing,
      );
      expect(perStep[1]).toEqual([]);
      expect(perStep[2]).toEqual([]);
      expect(perStep[3]).toEqual([
        { streamerId: STREAMER, status: 'offline', since: closedAt + grace, version: (closedAt + grace) * 1000, reason: 'disconnected' },
      ]);
    });

    it('keeps since = close + grace when the sweep runs late', () => {
      const closedAt = T0 + 10;
      const { perStep } = run([at.connect('a', T0), at.close('a', closedAt), at.expire(closedAt + grace + 777)], timing);
      expect(brief(perStep[2]!)).toEqual([['offline', 'disconnected', closedAt + grace]]);
    });

    it.each([0, 123])('a close %i ms after the lease ran out gives no grace (the timeout stands)', (late) => {
      const { perStep, record } = run(
        [at.connect('a', T0), at.close('a', T0 + ttl + late), at.expire(T0 + ttl + late + grace), at.expire(T0 + 10 * ttl)],
        timing,
      );
      expect(brief(perStep[1]!)).toEqual([['offline', 'timeout', T0 + ttl]]);
      expect(perStep.slice(2).flat()).toEqual([]);
      expect(record.connections).toEqual({});
    });

    it('a close of an expired lease while another connection is live just drops it', () => {
      const { perStep, record } = run(
        [at.connect('a', T0), at.connect('b', T0 + ttl / 2), at.close('a', T0 + ttl + 1)],
        timing,
      );
      expect(perStep[2]).toEqual([]);
      expect(record.connections).toEqual({ b: { liveUntil: T0 + ttl / 2 + ttl, closed: false } });
    });

    it('a second close of the same connection does not extend the grace', () => {
      const closedAt = T0 + 10;
      const { perStep } = run(
        [at.connect('a', T0), at.close('a', closedAt), at.close('a', closedAt + grace - 1), at.expire(closedAt + grace)],
        timing,
      );
      expect(brief(perStep[3]!)).toEqual([['offline', 'disconnected', closedAt + grace]]);
    });

    it('a reconnect inside the grace produces no events at all, through the old lease running out', () => {
      const closedAt = T0 + Math.floor(ttl / 4);
      const back = closedAt + grace - 1;
      const { events, perStep, record } = run(
        [
          at.connect('a', T0),
          at.close('a', closedAt),
          at.connect('b', back),
          at.expire(closedAt + grace),
          at.expire(T0 + ttl),
          at.heartbeat('b', back + ttl - 1),
          at.expire(back + 2 * ttl - 2),
        ],
        timing,
      );
      expect(perStep.slice(1).flat()).toEqual([]);
      expect(brief(events)).toEqual([['online', 'connected', T0]]);
      expect(Object.keys(record.connections)).toEqual(['b']);
    });
  });

  describe('several connections of one streamer', () => {
    it('stays online until both are gone; the last, timing out, gives `timeout`', () => {
      const { perStep } = run(
        [
          at.connect('a', T0),
          at.connect('b', T0 + 1),
          at.close('a', T0 + 2),
          at.expire(T0 + 2 + grace),
          at.heartbeat('b', T0 + 3),
          at.expire(T0 + 3 + ttl - 1),
          at.expire(T0 + 3 + ttl),
        ],
        timing,
      );
      expect(perStep.slice(1, 6).flat()).toEqual([]);
      expect(brief(perStep[6]!)).toEqual([['offline', 'timeout', T0 + 3 + ttl]]);
    });

    it('stays online until both are gone; the last, closing, gives `disconnected`', () => {
      const closedAt = T0 + ttl + 20;
      const { perStep } = run(
        [
          at.connect('a', T0),
          at.connect('b', T0 + 10),
          at.heartbeat('a', T0 + ttl / 2),
          at.expire(T0 + 10 + ttl), // b times out: a still holds the streamer
          at.close('a', closedAt),
          at.expire(closedAt + grace - 1),
          at.expire(closedAt + grace),
        ],
        timing,
      );
      expect(perStep.slice(1, 6).flat()).toEqual([]);
      expect(brief(perStep[6]!)).toEqual([['offline', 'disconnected', closedAt + grace]]);
    });

    it('when both ran out before one sweep, the later lease gives reason and since (timeout last)', () => {
      // a closed early (runs out at T0 + 5 + grace); b never heartbeats (runs out at T0 + ttl, later for both timings).
      const { perStep } = run([at.connect('a', T0), at.connect('b', T0), at.close('a', T0 + 5), at.expire(T0 + 3 * ttl)], timing);
      expect(T0 + ttl).toBeGreaterThan(T0 + 5 + grace);
      expect(brief(perStep[3]!)).toEqual([['offline', 'timeout', T0 + ttl]]);
    });

    it('when both ran out before one sweep, the later lease gives reason and since (disconnected last)', () => {
      const closedAt = T0 + ttl - 1;
      const { perStep } = run([at.connect('a', T0), at.connect('b', T0), at.close('b', closedAt), at.expire(T0 + 3 * ttl)], timing);
      expect(brief(perStep[3]!)).toEqual([['offline', 'disconnected', closedAt + grace]]);
    });
  });

  describe('end', () => {
    it.each(['a', 'b'])('with two connections goes offline at once (`ended`); a later heartbeat on %s brings it back', (conn) => {
      const endedAt = T0 + 100;
      const { perStep, record, events } = run(
        [
          at.connect('a', T0),
          at.connect('b', T0 + 1),
          at.end(endedAt),
          at.expire(T0 + 10 * ttl),
          at.close(conn === 'a' ? 'b' : 'a', T0 + 10 * ttl + 1),
          at.heartbeat(conn, T0 + 10 * ttl + 2),
        ],
        timing,
      );
      expect(perStep[2]).toEqual([
        { streamerId: STREAMER, status: 'offline', since: endedAt, version: endedAt * 1000, reason: 'ended' },
      ]);
      expect(perStep[3]).toEqual([]);
      expect(perStep[4]).toEqual([]);
      expect(brief(perStep[5]!)).toEqual([['online', 'connected', T0 + 10 * ttl + 2]]);
      expect(Object.keys(record.connections)).toEqual([conn]);
      expectVersionsIncrease(events);
    });

    it('leaves no live lease behind: the open sockets are parked for a TTL, their places kept (closed ones dropped)', () => {
      const { record, events } = run([at.connect('a', T0), at.connect('b', T0), at.connect('c', T0), at.close('c', T0), at.end(T0 + 1)], timing);
      const parked = { liveUntil: T0 + 1 + ttl, closed: false, parked: true };
      expect(record.connections).toEqual({ a: parked, b: parked });
      // Nothing more to say when they lapse: the offline was `ended`.
      const later = run([at.connect('a', T0), at.connect('b', T0), at.end(T0 + 1), at.expire(T0 + 1 + ttl)], timing);
      expect(later.record.connections).toEqual({});
      expect(later.events.map((e) => e.reason)).toEqual(['connected', 'ended']);
      expect(events.map((e) => e.reason)).toEqual(['connected', 'ended']);
    });

    it('of a streamer with no record (the store lost it while live) gives `ended` at once', () => {
      const { events, record } = run([at.end(T0)], timing);
      expect(events).toEqual([{ streamerId: STREAMER, status: 'offline', since: T0, version: T0 * 1000, reason: 'ended' }]);
      expect(record.state).toEqual({ streamerId: STREAMER, status: 'offline', since: T0, version: T0 * 1000 });
    });

    it('after a timeout gives no event and keeps the state', () => {
      const { perStep, record } = run([at.connect('a', T0), at.expire(T0 + ttl), at.end(T0 + ttl + 5)], timing);
      expect(perStep[2]).toEqual([]);
      expect(record.state).toEqual({ streamerId: STREAMER, status: 'offline', since: T0 + ttl, version: (T0 + ttl) * 1000 });
    });

    it('after the last lease ran out but before the sweep gives the `timeout` only', () => {
      const { perStep } = run([at.connect('a', T0), at.end(T0 + ttl + 5)], timing);
      expect(brief(perStep[1]!)).toEqual([['offline', 'timeout', T0 + ttl]]);
    });

    it('twice gives one event', () => {
      const { perStep } = run([at.connect('a', T0), at.end(T0 + 1), at.end(T0 + 2)], timing);
      expect(perStep[1]).toHaveLength(1);
      expect(perStep[2]).toEqual([]);
    });
  });

  describe('meta', () => {
    const live = { game: 'chess', viewers: 12, mature: false, title: null };

    it('a changed meta on an online streamer gives a `meta` event, since unchanged', () => {
      const { perStep, record, events } = run([at.connect('a', T0), at.heartbeat('a', T0 + 50, live)], timing);
      expect(perStep[1]).toEqual([
        { streamerId: STREAMER, status: 'online', since: T0, version: (T0 + 50) * 1000, meta: live, reason: 'meta' },
      ]);
      expect(record.state).toEqual({ streamerId: STREAMER, status: 'online', since: T0, version: (T0 + 50) * 1000, meta: live });
      expectVersionsIncrease(events);
    });

    it('may come from any connection of the streamer', () => {
      const { perStep } = run([at.connect('a', T0), at.connect('b', T0), at.heartbeat('b', T0 + 1, live)], timing);
      expect(brief(perStep[2]!)).toEqual([['online', 'meta', T0]]);
    });

    it.each([
      ['an equal copy', { ...live }],
      ['the same keys in another order', { title: null, mature: false, viewers: 12, game: 'chess' }],
    ])('the same meta again (%s) gives no event', (_case, again) => {
      const { perStep } = run([at.connect('a', T0), at.heartbeat('a', T0 + 1, live), at.heartbeat('a', T0 + 2, again)], timing);
      expect(perStep[2]).toEqual([]);
    });

    it.each([
      ['a changed value', { ...live, viewers: 13 }],
      ['a value of another type', { ...live, viewers: '12' }],
      ['a key more', { ...live, lang: 'en' }],
      ['a key less', { game: 'chess', viewers: 12, mature: false }],
    ])('%s is a change', (_case, changed) => {
      const { perStep } = run([at.connect('a', T0), at.heartbeat('a', T0 + 1, live), at.heartbeat('a', T0 + 2, changed)], timing);
      expect(perStep[2]).toEqual([expect.objectContaining({ reason: 'meta', meta: changed, since: T0 })]);
    });

    it('meta undefined keeps the stored meta', () => {
      const { perStep, record } = run([at.connect('a', T0), at.heartbeat('a', T0 + 1, live), at.heartbeat('a', T0 + 2)], timing);
      expect(perStep[2]).toEqual([]);
      expect(record.state.meta).toEqual(live);
    });

    it('an empty object clears it (a `meta` event without meta)', () => {
      const { perStep, record } = run([at.connect('a', T0), at.heartbeat('a', T0 + 1, live), at.heartbeat('a', T0 + 2, {})], timing);
      expect(perStep[2]).toEqual([{ streamerId: STREAMER, status: 'online', since: T0, version: (T0 + 2) * 1000, reason: 'meta' }]);
      expect(record.state).not.toHaveProperty('meta');
    });

    it('an empty object when there is none gives no event', () => {
      const { perStep } = run([at.connect('a', T0), at.heartbeat('a', T0 + 1, {})], timing);
      expect(perStep[1]).toEqual([]);
    });

    it('the first meta, sent with the heartbeat that revives the streamer, is carried by the `connected` event', () => {
      const back = T0 + ttl + 10;
      const { perStep } = run([at.connect('a', T0), at.expire(T0 + ttl), at.heartbeat('a', back, live)], timing);
      expect(perStep[2]).toEqual([{ streamerId: STREAMER, status: 'online', since: back, version: back * 1000, meta: live, reason: 'connected' }]);
    });

    it('a heartbeat with meta for a streamer the store does not know yields one `connected` carrying it', () => {
      const { events } = run([at.heartbeat('a', T0, live)], timing);
      expect(events).toEqual([{ streamerId: STREAMER, status: 'online', since: T0, version: T0 * 1000, meta: live, reason: 'connected' }]);
    });

    it('a late heartbeat with meta yields `timeout` (without meta), then `connected` with the new meta', () => {
      const now = T0 + ttl + 3;
      const { perStep } = run([at.connect('a', T0), at.heartbeat('a', T0 + 1, { game: 'go' }), at.heartbeat('a', now, live)], timing);
      expect(perStep[2]).toEqual([
        { streamerId: STREAMER, status: 'offline', since: T0 + 1 + ttl, version: now * 1000, reason: 'timeout' },
        { streamerId: STREAMER, status: 'online', since: now, version: now * 1000 + 1, meta: live, reason: 'connected' },
      ]);
    });

    it.each([
      ['timeout', [at.expire(T0 + 1 + ttl)]],
      ['disconnected', [at.close('a', T0 + 2), at.expire(T0 + 2 + grace)]],
      ['ended', [at.end(T0 + 2)]],
    ] as const)('going offline (%s) drops it, and a reconnect without meta has none', (reason, offline) => {
      const back = T0 + 5 * ttl;
      const { events, record } = run([at.connect('a', T0), at.heartbeat('a', T0 + 1, live), ...offline, at.connect('b', back)], timing);
      const [dropped, reconnected] = events.slice(-2);
      expect(dropped).toEqual(expect.objectContaining({ status: 'offline', reason }));
      expect(dropped).not.toHaveProperty('meta');
      expect(reconnected).toEqual({ streamerId: STREAMER, status: 'online', since: back, version: back * 1000, reason: 'connected' });
      expect(record.state).not.toHaveProperty('meta');
    });
  });

  describe('nextDeadline', () => {
    it('is null without leases, else the earliest lease end', () => {
      expect(nextDeadline(emptyRecord(STREAMER))).toBeNull();
      const one = run([at.connect('a', T0)], timing).record;
      expect(nextDeadline(one)).toBe(T0 + ttl);
      const two = run([at.connect('a', T0), at.connect('b', T0 + 5), at.heartbeat('a', T0 + 10)], timing).record;
      expect(nextDeadline(two)).toBe(T0 + 5 + ttl);
    });

    it('follows a close to close + grace, earlier or later than the TTL', () => {
      const early = run([at.connect('a', T0), at.close('a', T0 + 1)], timing).record;
      expect(nextDeadline(early)).toBe(T0 + 1 + grace);
      const late = run([at.connect('a', T0), at.close('a', T0 + ttl - 1)], timing).record;
      expect(nextDeadline(late)).toBe(T0 + ttl - 1 + grace);
    });

    it('moves to the next lease when the earliest runs out', () => {
      const { record } = run([at.connect('a', T0), at.connect('b', T0 + 100), at.expire(T0 + ttl)], timing);
      expect(record.state.status).toBe('online');
      expect(nextDeadline(record)).toBe(T0 + 100 + ttl);
    });
  });
});

describe('streamer record rules, edge cases', () => {
  const timing: PresenceTiming = { presenceTtlMs: 110_000, reconnectGraceMs: 10_000 };

  it('a record left online with parked places alone (an older pod read them as leases) goes offline at once, as of now', () => {
    const online = connect(emptyRecord(STREAMER), 'a', T0, timing).next;
    const left = { state: online.state, connections: { b: { liveUntil: T0 + 200_000, closed: false, parked: true as const } } };
    const transition = expire(left, T0 + 5, timing);
    expect(transition.events).toEqual([{ streamerId: STREAMER, status: 'offline', since: T0 + 5, version: (T0 + 5) * 1000, reason: 'timeout' }]);
    expect(transition.next.connections).toEqual(left.connections);
  });

  it('returns the very same record when nothing is due', () => {
    const record = connect(emptyRecord(STREAMER), 'a', T0, timing).next;
    const transition = expire(record, T0 + 1, timing);
    expect(transition.next).toBe(record);
    expect(transition.events).toEqual([]);
  });

  it('never mutates the record it is given', () => {
    const record = connect(emptyRecord(STREAMER), 'a', T0, timing).next;
    const snapshot = structuredClone(record);
    heartbeat(record, 'b', T0 + timing.presenceTtlMs + 1, timing, { x: 1 });
    expect(record).toEqual(snapshot);
  });

  // CONTRACT.md: a closed connection "counts as live until close + RECONNECT_GRACE_MS (whatever its TTL)";
  // ConnectionLease documents "no heartbeat renews it". A heartbeat that reaches the store after the close
  // of its own connection (a reordered or retried call) must not turn the closed lease back into a live one.
  it('a heartbeat that reaches a closed lease does not renew it: offline (`disconnected`) still at close + grace', () => {
    const closedAt = T0 + 1_000;
    const { perStep } = run(
      [at.connect('a', T0), at.close('a', closedAt), at.heartbeat('a', closedAt + 1), at.expire(closedAt + timing.reconnectGraceMs)],
      timing,
    );
    expect(perStep[2]).toEqual([]);
    expect(brief(perStep[3]!)).toEqual([['offline', 'disconnected', closedAt + timing.reconnectGraceMs]]);
  });
});
