import type { Meta, PresenceEvent, PresenceState } from '../../src/presence/domain/presence-state.js';
import { neverSeen } from '../../src/presence/domain/presence-state.js';
import { OFFLINE_RETENTION_MS, type PresenceStore, type StoreResult } from '../../src/presence/domain/presence-store.port.js';
import type { PresenceTiming, StreamerRecord, Transition } from '../../src/presence/domain/streamer-record.js';
import * as rules from '../../src/presence/domain/streamer-record.js';
import type { TransitionLog } from '../../src/presence/domain/transition-log.port.js';
import { intBetween, mulberry32 } from '../unit/presence/prng.js';
import { readWholeLog } from './presence-store.contract.js';

/**
 * The seeded random histories of test/unit/presence/streamer-record.random.test.ts, replayed against a
 * whole store on a simulated clock, with the pure core (`streamer-record.ts`) as the reference: after
 * every step the store must return exactly the events the rules give, to the version, and read back the
 * same states. Run against both stores with the same seeds, this holds the Redis Lua to the TypeScript
 * rules. Beyond the unit histories: several streamers (so sweeps claim across them), heartbeats that
 * arrive after their connection closed, graces longer than the TTL left, jumps past the offline
 * retention, and at the end the transition log holds exactly the events returned.
 */
export type MakeClockedStore = (timing: PresenceTiming, clock: () => number) => Promise<{ store: PresenceStore; log: TransitionLog; teardown: () => Promise<void> }>;

const TIMINGS: ReadonlyArray<[string, PresenceTiming]> = [
  ['production timing', { presenceTtlMs: 110_000, reconnectGraceMs: 10_000 }],
  ['scaled-down timing', { presenceTtlMs: 400, reconnectGraceMs: 250 }],
  ['grace longer than TTL', { presenceTtlMs: 300, reconnectGraceMs: 500 }],
];
export const HISTORY_SEEDS = [1, 42, 2024, 31337];
/**
 * The simulated clock jumps past the offline retention (days) now and then: the log must keep all of
 * a history (the Redis log's ids come from the real clock, so trimming by the simulated one would cut it).
 */
export const HISTORY_LOG_RETENTION_MS = 100 * 365 * 24 * 3600 * 1000;
const STEPS = 1_500;
const STREAMERS = ['h-0', 'h-1', 'h-2'];
const METAS: ReadonlyArray<Meta | undefined> = [undefined, undefined, undefined, {}, { game: 'chess' }, { game: 'go', n: 1 }];

type Op =
  | { op: 'connect' | 'close'; id: string; conn: string }
  // silentOfTtl: a pod's re-assert, for a client that last heartbeated this share of the TTL ago.
  | { op: 'heartbeat'; id: string; conn: string; meta?: Meta; silentOfTtl?: number }
  | { op: 'end'; id: string }
  | { op: 'expire' };

export function describeRandomHistories(name: string, make: MakeClockedStore): void {
  describe.each(TIMINGS)(`random histories against the pure core, ${name}, %s`, (_timingName, timing) => {
    it.each(HISTORY_SEEDS)('seed %i: the same events, to the version, and the same states, at every step', async (seed) => {
      const random = mulberry32(seed);
      let now = Date.now();
      const { store, log, teardown } = await make(timing, () => now);
      try {
        const reference = new Map<string, StreamerRecord>(STREAMERS.map((id) => [id, rules.emptyRecord(id)]));
        const open = new Map<string, string[]>(STREAMERS.map((id) => [id, []]));
        const closed = new Map<string, string[]>(STREAMERS.map((id) => [id, []]));
        const returned: PresenceEvent[] = [];
        const reasons = new Set<string>();
        let refusals = 0;
        let burst = { id: '', left: 0 };
        let nextConn = 0;

        for (let i = 0; i < STEPS; i += 1) {
          const ttl = timing.presenceTtlMs;
          now += burst.left > 0 ? 0 : random() < 0.005 ? OFFLINE_RETENTION_MS + intBetween(random, 1, ttl) : random() < 0.2 ? 0 : random() < 0.85 ? intBetween(random, 1, Math.ceil(ttl / 3)) : intBetween(random, ttl, 2 * ttl);
          // Now and then a burst of connects to one streamer, at once: past the open-connection cap.
          if (burst.left === 0 && random() < 0.01) burst = { id: STREAMERS[Math.floor(random() * STREAMERS.length)]!, left: 12 };
          const step: Op =
            burst.left > 0 ? { op: 'connect', id: burst.id, conn: `c${nextConn++}` } : pick(random, open, closed, () => `c${nextConn++}`);
          if (burst.left > 0) {
            burst.left -= 1;
            open.get(burst.id)!.push(step.op === 'connect' ? step.conn : '');
          }
          // A store may forget a streamer offline for the whole retention; a close or `end` then meets no
          // record, which the rules take for lost data (streamer-record.ts `close`). Either is right.
          const mayBeForgotten = (step.op === 'close' || step.op === 'end') && isForgettable(reference.get(step.id)!, now);
          const { events: expected, refused } = applyReference(reference, step, now, timing);
          const result = await run(store, step, timing);
          const fail = (what: string): never => {
            throw new Error(`seed ${seed}, step ${i} at ${now} (${JSON.stringify(step)}): ${what}`);
          };
          if (result.serverTime !== now) fail(`the store's clock read ${result.serverTime}`);
          const got = sortedEvents(result.events);
          let want = sortedEvents(expected);
          if (mayBeForgotten) {
            // Which did the store do? Its state after the step tells (a close of a forgotten streamer
            // returns no event either way). The reference follows it.
            const remembered = reference.get(step.id)!;
            reference.set(step.id, rules.emptyRecord(step.id));
            const afterForgetting = sortedEvents(applyReference(reference, step, now, timing).events);
            const [read] = await store.getMany([step.id]);
            if (JSON.stringify(got) === JSON.stringify(afterForgetting) && sameState(read!, reference.get(step.id)!, now)) want = afterForgetting;
            else reference.set(step.id, remembered);
          }
          if (JSON.stringify(got) !== JSON.stringify(want)) fail(`events ${JSON.stringify(got)}, the rules give ${JSON.stringify(want)}`);
          if (result.refused !== refused) fail(`refused ${result.refused}, the rules say ${refused}`);
          if (refused !== undefined) refusals += 1;
          returned.push(...result.events);
          for (const event of result.events) reasons.add(event.reason);

          if (i % 25 === 0 || step.op === 'expire') {
            const states = await store.getMany(STREAMERS);
            for (const [k, id] of STREAMERS.entries()) {
              if (!sameState(states[k]!, reference.get(id)!, now)) fail(`${id} reads ${JSON.stringify(states[k])}, the rules say ${JSON.stringify(reference.get(id)!.state)}`);
            }
          }
        }
        expect([...reasons].sort()).toEqual(['connected', 'disconnected', 'ended', 'meta', 'timeout']);
        // The histories also reach the per-streamer connection cap, so its refusal is held to the rules too.
        expect(refusals).toBeGreaterThan(0);
        expect(sortedEvents(await readWholeLog(log))).toEqual(sortedEvents(returned));
      } finally {
        await teardown();
      }
    });
  });
}

function pick(random: () => number, open: Map<string, string[]>, closed: Map<string, string[]>, fresh: () => string): Op {
  const r = random();
  if (r < 0.12) return { op: 'expire' };
  const id = STREAMERS[Math.floor(random() * STREAMERS.length)]!;
  const mine = open.get(id)!;
  const gone = closed.get(id)!;
  if (mine.length === 0 || r < 0.25) {
    const conn = fresh();
    mine.push(conn);
    return { op: 'connect', id, conn };
  }
  // A heartbeat that reaches the store after its socket closed (a late or retried call): mostly the one
  // closed last, whose grace may still run.
  if (gone.length > 0 && r < 0.31) return { op: 'heartbeat', id, conn: random() < 0.7 ? gone.at(-1)! : gone[Math.floor(random() * gone.length)]! };
  const conn = mine[Math.floor(random() * mine.length)]!;
  if (r < 0.62) {
    const meta = METAS[Math.floor(random() * METAS.length)];
    const heartbeat = meta === undefined ? { op: 'heartbeat' as const, id, conn } : { op: 'heartbeat' as const, id, conn, meta };
    // Past 1: a re-assert whose turn came after the deadline (it renews nothing).
    return r < 0.36 ? { ...heartbeat, silentOfTtl: 1.5 * random() } : heartbeat;
  }
  if (r < 0.85) {
    mine.splice(mine.indexOf(conn), 1);
    gone.push(conn);
    return { op: 'close', id, conn };
  }
  return { op: 'end', id };
}

/** Offline, with no lease, for the whole retention: a store may have forgotten it. */
function isForgettable(record: StreamerRecord, now: number): boolean {
  return record.state.status === 'offline' && rules.nextDeadline(record) === null && record.state.version / 1000 <= now - OFFLINE_RETENTION_MS;
}

function applyReference(
  reference: Map<string, StreamerRecord>,
  step: Op,
  now: number,
  timing: PresenceTiming,
): { events: PresenceEvent[]; refused?: 'too_many_connections' } {
  const change = (id: string, transition: (record: StreamerRecord) => Transition) => {
    const result = transition(reference.get(id)!);
    reference.set(id, result.next);
    return { events: [...result.events], ...(result.refused === undefined ? {} : { refused: result.refused }) };
  };
  switch (step.op) {
    case 'connect':
      return change(step.id, (r) => rules.connect(r, step.conn, now, timing));
    case 'heartbeat':
      return change(step.id, (r) => rules.heartbeat(r, step.conn, now, timing, step.meta, silentFor(step, timing)));
    case 'close':
      return change(step.id, (r) => rules.close(r, step.conn, now, timing));
    case 'end':
      return change(step.id, (r) => rules.end(r, now, timing));
    case 'expire':
      // A sweep claims the streamers whose earliest deadline has passed.
      return {
        events: STREAMERS.flatMap((id) => {
          const deadline = rules.nextDeadline(reference.get(id)!);
          return deadline !== null && deadline <= now ? change(id, (r) => rules.expire(r, now, timing)).events : [];
        }),
      };
  }
}

function silentFor(step: { silentOfTtl?: number }, timing: PresenceTiming): number {
  return Math.floor((step.silentOfTtl ?? 0) * timing.presenceTtlMs);
}

function run(store: PresenceStore, step: Op, timing: PresenceTiming): Promise<StoreResult> {
  switch (step.op) {
    case 'connect':
      return store.connect(step.id, step.conn);
    case 'heartbeat':
      return store.heartbeat(step.id, step.conn, step.meta, silentFor(step, timing));
    case 'close':
      return store.disconnect(step.id, step.conn);
    case 'end':
      return store.end(step.id);
    case 'expire':
      return store.expireDue(1_000);
  }
}

/**
 * A read agrees with the rules: the same state; or never-seen for a streamer offline with no lease,
 * whose last transition is older than the offline retention (a store may forget it then).
 */
function sameState(read: PresenceState, record: StreamerRecord, now: number): boolean {
  if (JSON.stringify(sortedKeys(read)) === JSON.stringify(sortedKeys(record.state))) return true;
  return isForgettable(record, now) && JSON.stringify(read) === JSON.stringify(neverSeen(read.streamerId));
}

function sortedEvents(events: readonly PresenceEvent[]): string[] {
  return events.map((e) => JSON.stringify(sortedKeys(e))).sort();
}

function sortedKeys<T extends object>(value: T): T {
  return JSON.parse(JSON.stringify(value, (_key, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v))) as T;
}
