import type { Meta, PresenceEvent } from '../../../src/presence/domain/presence-state.js';
import type { PresenceTiming, StreamerRecord } from '../../../src/presence/domain/streamer-record.js';
import { emptyRecord, MAX_OPEN_CONNECTIONS, nextDeadline } from '../../../src/presence/domain/streamer-record.js';
import { intBetween, mulberry32 } from './prng.js';
import { apply, STREAMER, type Step } from './script.js';

/**
 * Long random histories (seeded, with a monotone clock), checked step by step against invariants and
 * against a tiny independent model of CONTRACT.md "When a streamer is online": each connection is live
 * until its last heartbeat + TTL, a close cuts that to close + grace (if it was still live), `end` kills
 * every lease, and the streamer is online while any lease is live. And of the cap on open connections: an
 * open one holds its place while live and, parked, for a TTL after it stopped being live (no pod renews it
 * here); a new one past MAX_OPEN_CONNECTIONS places is refused and changes nothing.
 */
const TIMINGS: ReadonlyArray<[string, PresenceTiming]> = [
  ['production timing', { presenceTtlMs: 110_000, reconnectGraceMs: 10_000 }],
  ['scaled-down timing', { presenceTtlMs: 400, reconnectGraceMs: 250 }],
  ['grace longer than TTL', { presenceTtlMs: 300, reconnectGraceMs: 500 }],
];
const SEEDS = [1, 42, 2024, 31337];
const STEPS = 3_000;
const METAS: ReadonlyArray<Meta | undefined> = [undefined, undefined, undefined, {}, { game: 'chess' }, { game: 'go', n: 1 }];

describe.each(TIMINGS)('random histories, %s', (_name, timing) => {
  const ttl = timing.presenceTtlMs;
  const grace = timing.reconnectGraceMs;

  it.each(SEEDS)('seed %i: versions rise, events alternate, status matches the model', (seed) => {
    const random = mulberry32(seed);
    let record: StreamerRecord = emptyRecord(STREAMER);
    let now = 1_700_000_000_000;
    let nextConn = 0;
    const open: string[] = []; // sockets still open: they may heartbeat or close
    const model = new Map<string, { until: number; closed: boolean; parked?: boolean }>(); // connection → its lease, or its parked place
    let lastVersion = 0;
    const counts: Record<string, number> = {};

    for (let i = 0; i < STEPS; i += 1) {
      const gap = random() < 0.2 ? 0 : random() < 0.85 ? intBetween(random, 1, Math.ceil(ttl / 3)) : intBetween(random, ttl, 2 * ttl);
      now += gap;
      const step = pick(random, open, () => `c${nextConn++}`, now);

      // When the streamer goes offline by running out (in any step: each one first expires what is due), it did so when its last lease ran out,
      // for that lease's reason (a tie between a closed and a timed-out lease may give either).
      const ranOut = [...model.values()].filter((lease) => !lease.parked && lease.until <= now);
      const lastOut = Math.max(...ranOut.map((lease) => lease.until));
      const lastReasons = ranOut.filter((lease) => lease.until === lastOut).map((lease) => (lease.closed ? 'disconnected' : 'timeout'));

      // The model. First what ran out: an open connection's lease leaves it parked for a TTL more.
      for (const [conn, lease] of model) {
        if (lease.until > now) continue;
        if (!lease.parked && !lease.closed && lease.until + ttl > now) model.set(conn, { until: lease.until + ttl, closed: false, parked: true });
        else model.delete(conn);
      }
      let refused = false;
      if (step.op === 'connect' || step.op === 'heartbeat') {
        if (step.op === 'connect') open.push(step.conn);
        const places = [...model.values()].filter((lease) => !lease.closed).length;
        if (!model.has(step.conn) && places >= MAX_OPEN_CONNECTIONS) refused = true;
        else model.set(step.conn, { until: now + ttl, closed: false });
      } else if (step.op === 'close') {
        open.splice(open.indexOf(step.conn), 1);
        const lease = model.get(step.conn);
        if (lease !== undefined && !lease.parked && lease.until > now) model.set(step.conn, { until: now + grace, closed: true });
        else model.delete(step.conn);
      } else if (step.op === 'end') {
        for (const [conn, lease] of model) {
          if (lease.closed) model.delete(conn);
          else model.set(conn, { until: Math.max(lease.parked ? lease.until : 0, now + ttl), closed: false, parked: true });
        }
      }
      const modelOnline = [...model.values()].some((lease) => !lease.parked && lease.until > now);

      const before = record;
      const transition = apply(record, step, timing);
      record = transition.next;
      counts.refused = (counts.refused ?? 0) + (refused ? 1 : 0);

      // Plain checks in the hot loop (expect() is slow at this volume); a failure names seed and step.
      const check = (ok: boolean, what: string): void => {
        if (!ok) throw new Error(`seed ${seed}, step ${i} (${JSON.stringify(step)}): ${what}\n${JSON.stringify(transition, null, 1)}`);
      };

      // Versions: every event above the previous one; the state's version never falls.
      let status = before.state.status;
      for (const e of transition.events) {
        check(e.version > lastVersion, `event version ${e.version} not above ${lastVersion}`);
        check(e.version >= now * 1000, 'event version below the clock in µs');
        check(Number.isSafeInteger(e.version), 'event version not a safe integer');
        lastVersion = e.version;
        check(allowed(status, e), `${e.status}/${e.reason} may not follow ${status}`);
        check(e.since <= now, 'event since is in the future');
        if (e.reason === 'connected' || e.reason === 'ended') check(e.since === now, 'since is not now');
        if (e.reason === 'meta') check(e.since === before.state.since, 'a meta event moved since');
        if (e.reason === 'timeout' || e.reason === 'disconnected') {
          check(e.since === lastOut, `since ${e.since} is not when the last lease ran out (${lastOut})`);
          check(lastReasons.includes(e.reason), `reason ${e.reason} is not the last lease's (${lastReasons.join('/')})`);
        }
        check(e.status === 'online' || !('meta' in e), 'an offline event carries meta');
        status = e.status;
        counts[e.reason] = (counts[e.reason] ?? 0) + 1;
      }
      check(record.state.version >= before.state.version, 'state version fell');
      if (transition.events.length === 0) {
        check(record.state === before.state, 'state changed without an event');
      } else {
        const { reason: _reason, ...last } = transition.events[transition.events.length - 1]!;
        check(JSON.stringify(record.state) === JSON.stringify(last), 'state is not the last event');
      }

      // After any step at `now`, no lease that ran out is kept, and online ⇔ some lease is live.
      const leases = Object.values(record.connections);
      const isOnline = record.state.status === 'online';
      check(leases.every((lease) => lease.liveUntil > now), 'a lease that ran out was kept');
      check(isOnline === leases.some((lease) => lease.parked !== true), 'online does not match holding a live lease');
      check(isOnline === modelOnline, `online is ${isOnline}, the model says ${modelOnline}`);
      check((transition.refused !== undefined) === refused, `refused is ${transition.refused}, the model says ${refused}`);
      const modelPlaces = [...model].filter(([, lease]) => !lease.closed).map(([conn]) => conn).sort();
      const places = Object.keys(record.connections).filter((conn) => !record.connections[conn]!.closed).sort();
      check(JSON.stringify(places) === JSON.stringify(modelPlaces), `open places ${places.join()} differ from the model's ${modelPlaces.join()}`);
      const deadline = nextDeadline(record);
      check(leases.length > 0 ? deadline !== null && deadline > now : deadline === null, 'nextDeadline does not match the leases');
    }
    // The history exercised every reason, so the invariants above were checked on each.
    expect(Object.keys(counts).sort()).toEqual(['connected', 'disconnected', 'ended', 'meta', 'refused', 'timeout']);
    expect(counts.refused).toBeGreaterThan(0);
  });
});

function pick(random: () => number, open: readonly string[], fresh: () => string, now: number): Step {
  const r = random();
  // Connects often enough that the open sockets reach the cap now and then.
  if (open.length === 0 || r < 0.2) return { op: 'connect', conn: fresh(), at: now };
  const conn = open[Math.floor(random() * open.length)]!;
  if (r < 0.6) {
    const meta = METAS[Math.floor(random() * METAS.length)];
    return meta === undefined ? { op: 'heartbeat', conn, at: now } : { op: 'heartbeat', conn, at: now, meta };
  }
  if (r < 0.8) return { op: 'close', conn, at: now };
  if (r < 0.84) return { op: 'end', at: now };
  return { op: 'expire', at: now };
}

/** Which event may follow which status: `connected` only from offline; `meta` and the offline reasons only from online. */
function allowed(status: 'online' | 'offline', e: PresenceEvent): boolean {
  if (status === 'offline') return e.status === 'online' && e.reason === 'connected';
  return e.status === 'online' ? e.reason === 'meta' : e.reason === 'ended' || e.reason === 'disconnected' || e.reason === 'timeout';
}
