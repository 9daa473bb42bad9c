import type { Meta, PresenceEvent, PresenceState } from '../../src/presence/domain/presence-state.js';
import type { PresenceStore, StoreResult } from '../../src/presence/domain/presence-store.port.js';
import type { PresenceTiming } from '../../src/presence/domain/streamer-record.js';
import { feedPage, type LogPosition } from '../../src/presence/domain/transition-log.js';
import type { TransitionLog } from '../../src/presence/domain/transition-log.port.js';

/**
 * The store contract suite: the one set of tests every PresenceStore implementation must pass (after
 * socket.io-redis-adapter's test/index.ts, "default test suite for all adapters"). A runner file per
 * implementation calls `describeStoreContract` with a factory; the tests use only the PresenceStore port,
 * on real time with scaled-down durations, so the same tests hold the in-memory rules and the Redis Lua
 * scripts to CONTRACT.md.
 *
 * Timing assertions read the store's own clock (`serverTime`): nothing may come out of a sweep whose
 * serverTime is before the deadline, and `since` is the deadline exactly. Upper bounds are generous
 * (an event must show within ~1 s after its deadline), so a loaded CI machine does not flake.
 *
 * A runner for a store on a real server starts that server in its own beforeAll/afterAll (makeStore is
 * only called inside tests) and keys each store by `scope.id`; for instance:
 *
 *   describeStoreContract('RedisPresenceStore', async (timing, scope) => {
 *     const redis = new Redis(server.url);
 *     const prefix = `presence-test:${scope.id}:`;
 *     return {
 *       store: new RedisPresenceStore(redis, { prefix, timing }),
 *       teardown: async () => { await deleteByPrefix(redis, prefix); redis.disconnect(); },
 *     };
 *   }, { shared: true });
 */

export interface StoreScope {
  /** Unique per test (and per process): a Redis runner builds its key prefix from it. */
  readonly id: string;
}

export interface StoreUnderTest {
  readonly store: PresenceStore;
  /** The transition log the store appends to (for a shared store, all stores of a scope share its data). */
  readonly log: TransitionLog;
  /** Frees what the store holds (connections, keys under its prefix); called after each test. */
  readonly teardown: () => Promise<void>;
}

/**
 * Builds a store with the given timing. Called once or more per test, always with that test's scope;
 * stores built with the same scope see the same data when the implementation is `shared`, and a new
 * scope means a store that starts empty.
 */
export type MakeStore = (timing: PresenceTiming, scope: StoreScope) => Promise<StoreUnderTest>;

export interface StoreContractOptions {
  /**
   * Two stores built in one test share their data (Redis: one server, one key prefix), as two pods do.
   * Registers the cross-store tests. The in-memory store is single-node: false.
   * @default false
   */
  readonly shared?: boolean;
}

/**
 * Scaled-down durations: long enough to tell apart on a machine with both cores busy (where one store
 * call, or one sweep, can take a few hundred ms), short enough to run quickly.
 */
export const CONTRACT_TIMING: PresenceTiming = { presenceTtlMs: 1_000, reconnectGraceMs: 500 };
const TTL = CONTRACT_TIMING.presenceTtlMs;
const GRACE = CONTRACT_TIMING.reconnectGraceMs;
/** How late after its deadline an event may show (the contract's p99 is 1 s; polls here are every 10 ms). */
const LATE_BOUND_MS = 1_500;
const POLL_MS = 10;
const SWEEP_LIMIT = 100;

interface Sweep {
  readonly serverTime: number;
  readonly events: readonly PresenceEvent[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let scopes = 0;
function newScope(): StoreScope {
  scopes += 1;
  return { id: `${process.pid}-${Date.now().toString(36)}-${scopes}` };
}

function expectServerTimeNow(result: { serverTime: number }): void {
  expect(Number.isSafeInteger(result.serverTime)).toBe(true);
  expect(Math.abs(result.serverTime - Date.now())).toBeLessThan(1_000);
}

function reasonsOf(events: readonly PresenceEvent[]): string[] {
  return events.map((e) => `${e.streamerId}:${e.status}:${e.reason}`);
}

function stateOf(event: PresenceEvent): PresenceState {
  const { reason: _reason, ...state } = event;
  return state;
}

/**
 * Sweeps (several sweepers at once, racing, when given several stores or the same store twice) every
 * POLL_MS until `done` holds for all events seen so far and the store time of the last sweep, or until
 * `deadline` (a store time) + LATE_BOUND_MS has passed on the wall clock. Returns every sweep result,
 * so callers can check what came out when.
 */
async function sweepUntil(
  sweepers: readonly PresenceStore[],
  deadline: number,
  done: (events: readonly PresenceEvent[], serverTime: number) => boolean,
  limit = SWEEP_LIMIT,
): Promise<{ sweeps: Sweep[]; events: PresenceEvent[] }> {
  const sweeps: Sweep[] = [];
  const events: PresenceEvent[] = [];
  const giveUpAt = Date.now() + Math.max(0, deadline - Date.now()) + LATE_BOUND_MS;
  for (;;) {
    const results = await Promise.all(sweepers.map((store) => store.expireDue(limit)));
    for (const result of results) {
      expectServerTimeNow(result);
      expect(result.events.length).toBeLessThanOrEqual(limit);
      sweeps.push({ serverTime: result.serverTime, events: result.events });
      events.push(...result.events);
    }
    const serverTime = Math.min(...results.map((r) => r.serverTime));
    if (done(events, serverTime) || Date.now() > giveUpAt) return { sweeps, events };
    await sleep(POLL_MS);
  }
}

/** Sweeps until the store's clock has passed `until`; returns what came out (expected: nothing). */
async function sweepQuietlyUntil(sweepers: readonly PresenceStore[], until: number): Promise<PresenceEvent[]> {
  const { events } = await sweepUntil(sweepers, until, (_events, serverTime) => serverTime > until);
  return events;
}

/** Nothing came out of a sweep that ran (on the store's clock) before `deadline`. */
function expectNothingBefore(sweeps: readonly Sweep[], deadline: number): void {
  const early = sweeps.filter((s) => s.serverTime < deadline && s.events.length > 0);
  expect(early).toEqual([]);
}

interface LogWitness {
  readonly log: TransitionLog;
  readonly returned: PresenceEvent[];
}

const MUTATIONS = new Set(['connect', 'heartbeat', 'disconnect', 'end', 'expireDue', 'settleLost']);

/** `store`, noting every event its changes return into `returned`. */
function recordingEvents(store: PresenceStore, returned: PresenceEvent[]): PresenceStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (!MUTATIONS.has(String(property))) return value.bind(target);
      return async (...args: unknown[]) => {
        const result = (await value.apply(target, args)) as StoreResult;
        returned.push(...result.events);
        return result;
      };
    },
  });
}

/** Every entry the log keeps, oldest first, paging through all shards. */
export async function readWholeLog(log: TransitionLog): Promise<PresenceEvent[]> {
  let position: LogPosition = Array.from({ length: log.shardCount }, () => null);
  const events: PresenceEvent[] = [];
  for (;;) {
    const { now, shards } = await log.readAfter(position, 500);
    const page = feedPage(shards, position, 500, now);
    events.push(...page.items.map((entry) => entry.event));
    position = page.next;
    if (page.items.length === 0) return events;
  }
}

function sortedEvents(events: readonly PresenceEvent[]): string[] {
  return events.map((e) => JSON.stringify(e)).sort();
}

export function describeStoreContract(name: string, makeStore: MakeStore, options: StoreContractOptions = {}): void {
  describe(`PresenceStore contract: ${name}`, () => {
    let built: StoreUnderTest[] = [];
    let scope: StoreScope;
    /** Per log (one per scope for a shared store, else one per store): the events its stores returned. */
    let witnesses: Map<string | StoreUnderTest, LogWitness>;

    /** A store for this test (stores of one test share their scope). */
    async function open(timing: PresenceTiming = CONTRACT_TIMING, inScope: StoreScope = scope): Promise<PresenceStore> {
      const made = await makeStore(timing, inScope);
      built.push(made);
      const key = options.shared ? inScope.id : made;
      const witness = witnesses.get(key) ?? { log: made.log, returned: [] };
      witnesses.set(key, witness);
      return recordingEvents(made.store, witness.returned);
    }

    beforeEach(() => {
      scope = newScope();
      built = [];
      witnesses = new Map();
    });

    afterEach(async () => {
      // Whatever the test did, the log holds exactly the events the store calls returned, each once.
      const checks = [...witnesses.values()];
      witnesses = new Map();
      try {
        for (const { log, returned } of checks) expect(sortedEvents(await readWholeLog(log))).toEqual(sortedEvents(returned));
      } finally {
        const toTear = built.reverse();
        built = [];
        for (const made of toTear) await made.teardown();
      }
    });

    describe('the open-connection cap (10 per streamer)', () => {
      it('an 11th open connection is refused and changes nothing; closed ones do not count; a freed place is taken', async () => {
        const store = await open();
        for (let i = 0; i < 10; i += 1) expect((await store.connect('alice', `c${i}`)).refused).toBeUndefined();
        const refused = await store.connect('alice', 'c10');
        expect(refused).toMatchObject({ refused: 'too_many_connections', events: [] });
        // A connection already holding a lease reconnecting (a retried connect) is not a new one.
        expect((await store.connect('alice', 'c3')).refused).toBeUndefined();
        // Heartbeats and other streamers are not affected.
        expect((await store.heartbeat('alice', 'c0')).events).toEqual([]);
        expect((await store.connect('bob', 'b0')).refused).toBeUndefined();
        await store.disconnect('alice', 'c0');
        expect((await store.connect('alice', 'c11')).refused).toBeUndefined();
        expect((await store.connect('alice', 'c12')).refused).toBe('too_many_connections');
        expect((await store.getMany(['alice']))[0]!.status).toBe('online');
      });

      it('a connection whose lease lapsed by its TTL keeps its place, parked, for a TTL more: new ones are refused, and a heartbeat brings it back', async () => {
        const store = await open();
        for (let i = 0; i < 10; i += 1) await store.connect('carol', `old${i}`);
        await sleep(TTL + 50);
        // Still open sockets, as far as the store knows: their places are taken.
        expect((await store.connect('carol', 'new0')).refused).toBe('too_many_connections');
        const back = await store.heartbeat('carol', 'old0');
        expect(back.refused).toBeUndefined();
        expect(reasonsOf(back.events)).toEqual(['carol:online:connected']);
      });

      it('a parked place nobody renews (its pod died) is free a TTL after the lease ran out; its connection then takes one only if one is free', async () => {
        const store = await open();
        for (let i = 0; i < 10; i += 1) await store.connect('dora', `old${i}`);
        await sleep(2 * TTL + 100);
        for (let i = 0; i < 10; i += 1) expect((await store.connect('dora', `new${i}`)).refused).toBeUndefined();
        for (let i = 0; i < 10; i += 1) expect((await store.heartbeat('dora', `old${i}`)).refused).toBe('too_many_connections');
        expect((await store.heartbeat('dora', 'new0')).refused).toBeUndefined();
      });

      it("a pod keeps its lease-less connections' places by re-asserting them as silent for the TTL: parked, renewed, refused when none is free", async () => {
        const store = await open();
        for (let i = 0; i < 9; i += 1) await store.connect('erin', `c${i}`);
        // Parked, not online: a connection that ended or went silent, whose socket is still open.
        const parked = await store.heartbeat('erin', 'open-silent', undefined, TTL);
        expect(parked).toMatchObject({ events: [] });
        expect(parked.refused).toBeUndefined();
        expect((await store.connections('erin')).find((c) => c.connectionId === 'open-silent')).toMatchObject({ parked: true, closed: false });
        expect((await store.connect('erin', 'one-too-many')).refused).toBe('too_many_connections');
        expect((await store.heartbeat('erin', 'another-silent', undefined, TTL)).refused).toBe('too_many_connections');
        // Renewed past its first TTL, it still holds its place.
        await sleep(TTL / 2);
        await store.heartbeat('erin', 'open-silent', undefined, TTL);
        await sleep(TTL / 2 + 50);
        expect((await store.connect('erin', 'one-too-many')).refused).toBe('too_many_connections');
        // Closing it frees the place, with no event.
        expect((await store.disconnect('erin', 'open-silent')).events).toEqual([]);
        expect((await store.connect('erin', 'one-too-many')).refused).toBeUndefined();
      });

      it("`end` parks the streamer's open connections: their places stay taken until they close", async () => {
        const store = await open();
        for (let i = 0; i < 10; i += 1) await store.connect('fay', `c${i}`);
        await store.disconnect('fay', 'c9');
        expect(reasonsOf((await store.end('fay')).events)).toEqual(['fay:offline:ended']);
        const leases = await store.connections('fay');
        expect(leases.filter((lease) => lease.parked).map((lease) => lease.connectionId).sort()).toEqual(Array.from({ length: 9 }, (_, i) => `c${i}`));
        expect(leases.some((lease) => lease.closed)).toBe(false);
        // A parked one that heartbeats starts a stream again, in the place it held.
        expect(reasonsOf((await store.heartbeat('fay', 'c1')).events)).toEqual(['fay:online:connected']);
        // The closed one's place was free already: one new connection, no more.
        expect((await store.connect('fay', 'new0')).refused).toBeUndefined();
        expect((await store.connect('fay', 'new1')).refused).toBe('too_many_connections');
        await store.disconnect('fay', 'c0');
        expect((await store.connect('fay', 'new1')).refused).toBeUndefined();
      });
    });

    describe('calls made at once (a Redis store sends them as one script per shard)', () => {
      it('each is decided as if alone, in the order made: 12 connects of one streamer, 40 streamers, a meta beside a connect', async () => {
        const store = await open();
        const crowd = await Promise.all(Array.from({ length: 12 }, (_, i) => store.connect('crowded', `c${i}`)));
        expect(crowd.map((result) => result.refused ?? 'taken')).toEqual([...Array(10).fill('taken'), 'too_many_connections', 'too_many_connections']);
        expect(crowd.flatMap((result) => reasonsOf(result.events))).toEqual(['crowded:online:connected']);

        const ids = Array.from({ length: 40 }, (_, i) => `many-${i}`);
        const results = await Promise.all(ids.map((id) => store.connect(id, 'c')));
        results.forEach((result, i) => {
          expectServerTimeNow(result);
          expect(result.events.map((e) => [e.streamerId, e.reason])).toEqual([[ids[i], 'connected']]);
        });
        expect(await store.countOnline()).toBe(41);

        const [first, second] = await Promise.all([store.connect('titled', 'a'), store.heartbeat('titled', 'b', { title: 'live now' })]);
        expect(reasonsOf(first.events)).toEqual(['titled:online:connected']);
        expect(second.events).toMatchObject([{ reason: 'meta', meta: { title: 'live now' }, since: first.events[0]!.since }]);
        expect(second.events[0]!.version).toBeGreaterThan(first.events[0]!.version);
        expect((await store.getMany(['titled']))[0]).toMatchObject({ status: 'online', meta: { title: 'live now' } });
      });
    });

    describe('connect, heartbeat, disconnect, end', () => {
      it('connect of a never-seen streamer returns one `connected` event, since = the store time', async () => {
        const store = await open();
        const result = await store.connect('alice', 'c1');
        expectServerTimeNow(result);
        expect(result.events).toEqual([
          { streamerId: 'alice', status: 'online', since: result.serverTime, version: expect.any(Number), reason: 'connected' },
        ]);
        const [event] = result.events;
        expect(event!.version).toBeGreaterThan(0);
        expect(Number.isSafeInteger(event!.version)).toBe(true);
        expect(await store.getMany(['alice'])).toEqual([stateOf(event!)]);
      });

      it('a second connection, a heartbeat and a disconnect of one of two connections return no events', async () => {
        const store = await open();
        const first = await store.connect('alice', 'c1');
        for (const result of [await store.connect('alice', 'c2'), await store.heartbeat('alice', 'c1'), await store.disconnect('alice', 'c2')]) {
          expectServerTimeNow(result);
          expect(result.events).toEqual([]);
        }
        expect(await store.getMany(['alice'])).toEqual([stateOf(first.events[0]!)]);
      });

      it('a disconnect leaves the streamer online for now (the grace), and of an unknown connection of a known streamer does nothing', async () => {
        const store = await open();
        const connected = await store.connect('alice', 'c1');
        expect((await store.disconnect('alice', 'c1')).events).toEqual([]);
        expect((await store.disconnect('alice', 'never-connected')).events).toEqual([]);
        expect(await store.getMany(['alice'])).toEqual([stateOf(connected.events[0]!)]);
        expect((await store.connections('alice')).map((lease) => lease.connectionId)).toEqual(['c1']);
      });

      // Redis restarted empty while the socket was live: the pod's close (or its `end`, below) then finds
      // no record, and viewers still hold the streamer online. Without this, nothing ever tells them.
      it('a close for a streamer the store has no record of (it lost its data): online, silently, for the grace, then `disconnected` once', async () => {
        const store = await open();
        const closed = await store.disconnect('lost', 'c1');
        expect(closed.events).toEqual([]);
        const [during] = await store.getMany(['lost']);
        expect(during).toMatchObject({ status: 'online', since: closed.serverTime });
        expect(during!.version).toBeGreaterThanOrEqual(closed.serverTime * 1000);
        const deadline = closed.serverTime + GRACE;
        const { sweeps, events } = await sweepUntil([store], deadline, (seen) => seen.length > 0);
        expectNothingBefore(sweeps, deadline);
        expect(events).toEqual([{ streamerId: 'lost', status: 'offline', since: deadline, version: expect.any(Number), reason: 'disconnected' }]);
        expect(events[0]!.version).toBeGreaterThan(during!.version);
        // Once: a second close of the same connection now meets a record and changes nothing.
        expect((await store.disconnect('lost', 'c1')).events).toEqual([]);
        expect(await sweepQuietlyUntil([store], deadline + GRACE)).toEqual([]);
      });

      it('a close for a streamer the store lost, then a reconnect within the grace: no event at all', async () => {
        const store = await open();
        const closed = await store.disconnect('lost', 'c1');
        await sleep(GRACE / 5);
        expect((await store.connect('lost', 'c2')).events).toEqual([]);
        expect(await sweepQuietlyUntil([store], closed.serverTime + GRACE + 50)).toEqual([]);
        expect((await store.getMany(['lost']))[0]!.status).toBe('online');
      });

      it('a heartbeat for a streamer the store does not know creates its lease (`connected`)', async () => {
        const store = await open();
        const result = await store.heartbeat('alice', 'c1');
        expect(reasonsOf(result.events)).toEqual(['alice:online:connected']);
        expect(result.events[0]!.since).toBe(result.serverTime);
      });

      it('meta: a change is an event with since unchanged; the same again is not; undefined keeps it; {} clears it', async () => {
        const store = await open();
        const connected = await store.connect('alice', 'c1');
        const since = connected.serverTime;
        const meta: Meta = { game: 'chess', viewers: 3, mature: false, title: null };

        const changed = await store.heartbeat('alice', 'c1', meta);
        expect(changed.events).toEqual([{ streamerId: 'alice', status: 'online', since, version: expect.any(Number), meta, reason: 'meta' }]);
        expect((await store.heartbeat('alice', 'c1', { ...meta })).events).toEqual([]);
        expect((await store.heartbeat('alice', 'c1')).events).toEqual([]);
        expect((await store.getMany(['alice']))[0]).toEqual(stateOf(changed.events[0]!));

        const cleared = await store.heartbeat('alice', 'c1', {});
        expect(cleared.events).toEqual([{ streamerId: 'alice', status: 'online', since, version: expect.any(Number), reason: 'meta' }]);
        expect((await store.getMany(['alice']))[0]).not.toHaveProperty('meta');
      });

      it('meta sent with the heartbeat that brings a streamer back is carried by `connected`', async () => {
        const store = await open();
        await store.connect('alice', 'c1');
        await store.end('alice');
        const back = await store.heartbeat('alice', 'c1', { game: 'go' });
        expect(back.events).toEqual([
          { streamerId: 'alice', status: 'online', since: back.serverTime, version: expect.any(Number), meta: { game: 'go' }, reason: 'connected' },
        ]);
      });

      it('end takes the streamer offline at once (`ended`) whatever its connections; a later heartbeat on either brings it back', async () => {
        const store = await open();
        await store.connect('alice', 'c1');
        await store.connect('alice', 'c2');
        await store.heartbeat('alice', 'c2', { game: 'chess' });
        const ended = await store.end('alice');
        expectServerTimeNow(ended);
        expect(ended.events).toEqual([
          { streamerId: 'alice', status: 'offline', since: ended.serverTime, version: expect.any(Number), reason: 'ended' },
        ]);
        expect(await store.getMany(['alice'])).toEqual([stateOf(ended.events[0]!)]);
        expect((await store.end('alice')).events).toEqual([]);
        expect((await store.disconnect('alice', 'c1')).events).toEqual([]);

        // The leases went with the end: nothing more comes out of them, through their TTL.
        expect(await sweepQuietlyUntil([store], ended.serverTime + TTL + 50)).toEqual([]);

        const back = await store.heartbeat('alice', 'c2');
        expect(reasonsOf(back.events)).toEqual(['alice:online:connected']);
        expect(back.events[0]).not.toHaveProperty('meta');
      });

      it('settleLost: a streamer the store has no record of goes offline (`timeout`, as of `since`) once; one it knows stands', async () => {
        const store = await open();
        const since = (await store.expireDue(0)).serverTime - 100;
        const settled = await store.settleLost('lost', since);
        expect(settled.events).toEqual([{ streamerId: 'lost', status: 'offline', since, version: expect.any(Number), reason: 'timeout' }]);
        expect(settled.events[0]!.version).toBeGreaterThanOrEqual(settled.serverTime * 1000);
        expect((await store.settleLost('lost', since)).events).toEqual([]);
        const online = await store.connect('alice', 'c1');
        expect((await store.settleLost('alice', since)).events).toEqual([]);
        expect(await store.getMany(['alice'])).toEqual([stateOf(online.events[0]!)]);
        // A close the store took for one it lost (online for the grace) is a record too.
        await store.disconnect('bob', 'c1');
        expect((await store.settleLost('bob', since)).events).toEqual([]);
      });

      it('end of an offline streamer returns no event', async () => {
        const store = await open();
        await store.connect('alice', 'c1');
        const ended = await store.end('alice');
        expect(ended.events.map((e) => e.reason)).toEqual(['ended']);
        expect((await store.end('alice')).events).toEqual([]);
        expect(await store.getMany(['alice'])).toEqual([stateOf(ended.events[0]!)]);
      });

      it('end for a streamer the store has no record of (it lost its data while the stream was live) logs `ended`', async () => {
        const store = await open();
        const ended = await store.end('lost');
        expect(ended.events).toEqual([{ streamerId: 'lost', status: 'offline', since: ended.serverTime, version: expect.any(Number), reason: 'ended' }]);
        expect(ended.events[0]!.version).toBeGreaterThanOrEqual(ended.serverTime * 1000);
        expect(await store.getMany(['lost'])).toEqual([stateOf(ended.events[0]!)]);
        expect((await store.end('lost')).events).toEqual([]);
      });

      it('an `end` sent again after an outage (sentAt) ends the stream of then, not one that came online after it', async () => {
        const store = await open();
        const first = await store.connect('replayed', 'old');
        // Sent while that stream was live, taken late: it ends it.
        expect((await store.end('replayed', first.serverTime)).events.map((e) => e.reason)).toEqual(['ended']);
        // A new stream (on another pod, say); an `end` sent before it began is replayed: nothing changes.
        const again = await store.connect('replayed', 'new');
        const stale = await store.end('replayed', again.serverTime - 1_000);
        expect(stale.events).toEqual([]);
        expect(await store.getMany(['replayed'])).toEqual([stateOf(again.events[0]!)]);
        // One sent during this stream still ends it; and with no record at all (the store lost it), ends too.
        expect((await store.end('replayed', again.serverTime)).events.map((e) => e.reason)).toEqual(['ended']);
        expect((await store.end('lost-replayed', first.serverTime)).events.map((e) => e.reason)).toEqual(['ended']);
      });
    });

    describe('getMany', () => {
      it('returns one state per id in the order asked; a never-seen streamer is offline, version 0, since 0', async () => {
        const store = await open();
        const a = (await store.connect('a', 'c')).events[0]!;
        const z = (await store.connect('z', 'c')).events[0]!;
        const m = (await store.connect('m', 'c')).events[0]!;
        const mEnded = (await store.end('m')).events[0]!;
        expect(m.version).toBeLessThan(mEnded.version);
        const never = (id: string): PresenceState => ({ streamerId: id, status: 'offline', since: 0, version: 0 });
        expect(await store.getMany(['z', 'never-seen', 'a', 'm', 'z'])).toEqual([
          stateOf(z),
          never('never-seen'),
          stateOf(a),
          stateOf(mEnded),
          stateOf(z),
        ]);
        expect(await store.getMany([])).toEqual([]);
      });
    });

    describe(`expiry (real time, TTL ${TTL} ms, grace ${GRACE} ms)`, () => {
      it('`timeout` comes at last heartbeat + TTL, not before, once; a later heartbeat on the connection brings it back', async () => {
        const store = await open();
        await store.connect('alice', 'c1');
        await sleep(TTL / 4);
        const renewed = await store.heartbeat('alice', 'c1');
        const deadline = renewed.serverTime + TTL;

        await sleep(TTL / 2);
        expectNothingBefore([await store.expireDue(SWEEP_LIMIT)], deadline);

        const { sweeps, events } = await sweepUntil([store], deadline, (seen) => seen.length > 0);
        expectNothingBefore(sweeps, deadline);
        expect(events).toEqual([{ streamerId: 'alice', status: 'offline', since: deadline, version: expect.any(Number), reason: 'timeout' }]);
        expect(await store.getMany(['alice'])).toEqual([stateOf(events[0]!)]);
        expect(await store.listOnline(null, 10)).toEqual({ items: [], lastId: null });
        expect(await store.countOnline()).toBe(0);
        expect(await sweepQuietlyUntil([store], (await store.expireDue(0)).serverTime + 50)).toEqual([]);

        const back = await store.heartbeat('alice', 'c1');
        expect(reasonsOf(back.events)).toEqual(['alice:online:connected']);
        expect(back.events[0]!.version).toBeGreaterThan(events[0]!.version);
      });

      it('a heartbeat after the deadline but before any sweep returns the `timeout`, then the `connected`', async () => {
        const store = await open();
        const connected = await store.connect('alice', 'c1');
        const deadline = connected.serverTime + TTL;
        await sleep(TTL + 50);
        const late = await store.heartbeat('alice', 'c1');
        expect(late.serverTime).toBeGreaterThanOrEqual(deadline);
        expect(late.events).toEqual([
          { streamerId: 'alice', status: 'offline', since: deadline, version: expect.any(Number), reason: 'timeout' },
          { streamerId: 'alice', status: 'online', since: late.serverTime, version: expect.any(Number), reason: 'connected' },
        ]);
        expect(late.events[1]!.version).toBeGreaterThan(late.events[0]!.version);
        expect(late.events[0]!.version).toBeGreaterThan(connected.events[0]!.version);
        expect(await sweepQuietlyUntil([store], (await store.expireDue(0)).serverTime + 50)).toEqual([]);
      });

      it('`disconnected` comes at close + grace (sooner than the TTL left), not before, once', async () => {
        const store = await open();
        const connected = await store.connect('alice', 'c1');
        const closed = await store.disconnect('alice', 'c1');
        const deadline = closed.serverTime + GRACE;
        expect(deadline).toBeLessThan(connected.serverTime + TTL);

        await sleep(GRACE / 2);
        expectNothingBefore([await store.expireDue(SWEEP_LIMIT)], deadline);

        const { sweeps, events } = await sweepUntil([store], deadline, (seen) => seen.length > 0);
        expectNothingBefore(sweeps, deadline);
        expect(events).toEqual([{ streamerId: 'alice', status: 'offline', since: deadline, version: expect.any(Number), reason: 'disconnected' }]);
        expect(await sweepQuietlyUntil([store], connected.serverTime + TTL + 50)).toEqual([]);
        expect(await store.getMany(['alice'])).toEqual([stateOf(events[0]!)]);
      });

      it('a reconnect within the grace produces no events at all, through the old lease running out', async () => {
        const store = await open();
        const connected = await store.connect('alice', 'c1');
        await sleep(20);
        await store.disconnect('alice', 'c1');
        await sleep(GRACE / 5); // most of the grace left for the reconnect itself
        const back = await store.connect('alice', 'c2');
        expect(back.events).toEqual([]);
        // Through the old lease's TTL, and short of the new one's.
        expect(await sweepQuietlyUntil([store], Math.min(connected.serverTime + TTL + 50, back.serverTime + TTL - 20))).toEqual([]);
        expect((await store.getMany(['alice']))[0]).toEqual(stateOf(connected.events[0]!));
      });

      it('with two connections the streamer stays online until both are gone, with the reason of the last', async () => {
        const store = await open();
        const connected = await store.connect('alice', 'c1');
        await store.connect('alice', 'c2');
        const firstClosed = await store.disconnect('alice', 'c1');
        expect(await sweepQuietlyUntil([store], firstClosed.serverTime + GRACE + 50)).toEqual([]);
        const lastClosed = await store.disconnect('alice', 'c2');
        const deadline = lastClosed.serverTime + GRACE;
        const { sweeps, events } = await sweepUntil([store], deadline, (seen) => seen.length > 0);
        expectNothingBefore(sweeps, deadline);
        expect(events).toEqual([{ streamerId: 'alice', status: 'offline', since: deadline, version: expect.any(Number), reason: 'disconnected' }]);
        expect(events[0]!.version).toBeGreaterThan(connected.events[0]!.version);
      });

      it('with two connections, one closed and one silent, the last to run out gives `timeout`', async () => {
        const store = await open();
        await store.connect('alice', 'c1');
        await store.connect('alice', 'c2');
        const closed = await store.disconnect('alice', 'c1');
        // Renewed after the close, the silent lease always outlasts the closed one's grace (TTL > grace),
        // however slowly a loaded machine gets from one call to the next.
        const silent = await store.heartbeat('alice', 'c2');
        expect(await sweepQuietlyUntil([store], closed.serverTime + GRACE + 50)).toEqual([]);
        const deadline = silent.serverTime + TTL;
        const { sweeps, events } = await sweepUntil([store], deadline, (seen) => seen.length > 0);
        expectNothingBefore(sweeps, deadline);
        expect(events).toEqual([{ streamerId: 'alice', status: 'offline', since: deadline, version: expect.any(Number), reason: 'timeout' }]);
      });

      it('each event comes out exactly once when two sweeps race, and a sweep claims at most `limit` streamers', async () => {
        const store = await open();
        const ids = Array.from({ length: 12 }, (_, i) => `racer-${String(i).padStart(2, '0')}`);
        const deadlines = new Map<string, number>();
        for (const id of ids) deadlines.set(id, (await store.connect(id, 'c')).serverTime + TTL);
        const last = Math.max(...deadlines.values());
        const { sweeps, events } = await sweepUntil([store, store], last, (seen) => seen.length >= ids.length, 5);
        expectNothingBefore(sweeps, Math.min(...deadlines.values()));
        expect(events.map((e) => e.streamerId).sort()).toEqual(ids);
        for (const e of events) expect([e.status, e.reason, e.since]).toEqual(['offline', 'timeout', deadlines.get(e.streamerId)]);
        expect(await sweepQuietlyUntil([store, store], last + 50)).toEqual([]);
      });
    });

    describe('listOnline and countOnline', () => {
      it('pages 25 online streamers by 10: three pages, sorted by id, no duplicate, lastId null at the end', async () => {
        const store = await open();
        const ids = Array.from({ length: 25 }, (_, i) => `s-${String(i).padStart(2, '0')}`);
        const shuffled = [...ids].sort((a, b) => (a.split('').reverse().join('') < b.split('').reverse().join('') ? -1 : 1));
        for (const id of shuffled) await store.connect(id, 'c');
        expect(await store.countOnline()).toBe(25);

        const pages: Array<{ items: readonly PresenceState[]; lastId: string | null }> = [];
        let cursor: string | null = null;
        do {
          const page = await store.listOnline(cursor, 10);
          pages.push(page);
          cursor = page.lastId;
        } while (cursor !== null && pages.length < 10);
        expect(pages.map((p) => p.items.length)).toEqual([10, 10, 5]);
        expect(pages.map((p) => p.lastId)).toEqual(['s-09', 's-19', null]);
        expect(pages.flatMap((p) => p.items.map((s) => s.streamerId))).toEqual(ids);
        const states = await store.getMany(ids);
        expect(pages.flatMap((p) => p.items)).toEqual(states);
        expect(states.every((s) => s.status === 'online')).toBe(true);
      });

      it('an exact number of pages ends with lastId null, at most after one empty page', async () => {
        const store = await open();
        const ids = Array.from({ length: 20 }, (_, i) => `s-${String(i).padStart(2, '0')}`);
        for (const id of ids) await store.connect(id, 'c');
        const listed: string[] = [];
        let cursor: string | null = null;
        let calls = 0;
        do {
          const page = await store.listOnline(cursor, 10);
          listed.push(...page.items.map((s) => s.streamerId));
          cursor = page.lastId;
          calls += 1;
        } while (cursor !== null && calls < 10);
        expect(listed).toEqual(ids);
        expect(calls).toBeLessThanOrEqual(3);
      });

      it('streamers that ended disappear from the list and the count', async () => {
        const store = await open();
        const ids = Array.from({ length: 25 }, (_, i) => `s-${String(i).padStart(2, '0')}`);
        for (const id of ids) await store.connect(id, 'c');
        const gone = ['s-00', 's-09', 's-10', 's-17', 's-24'];
        for (const id of gone) await store.end(id);
        expect(await store.countOnline()).toBe(20);
        const listed: string[] = [];
        let cursor: string | null = null;
        do {
          const page = await store.listOnline(cursor, 7);
          listed.push(...page.items.map((s) => s.streamerId));
          cursor = page.lastId;
        } while (cursor !== null && listed.length <= 25);
        expect(listed).toEqual(ids.filter((id) => !gone.includes(id)));
        expect(await store.listOnline('s-24', 10)).toEqual({ items: [], lastId: null });
      });

      it('is empty for an empty store', async () => {
        const store = await open();
        expect(await store.listOnline(null, 10)).toEqual({ items: [], lastId: null });
        expect(await store.countOnline()).toBe(0);
      });
    });

    describe('connections', () => {
      it("lists the streamer's leases: open until last beat + TTL, closed until close + grace", async () => {
        const store = await open();
        const { serverTime: connectedAt } = await store.connect('leased', 'open-one');
        await store.connect('leased', 'closing-one');
        const { serverTime: closedAt } = await store.disconnect('leased', 'closing-one');
        const leases = (await store.connections('leased')).sort((a, b) => (a.connectionId < b.connectionId ? -1 : 1));
        expect(leases.map(({ connectionId, closed }) => ({ connectionId, closed }))).toEqual([
          { connectionId: 'closing-one', closed: true },
          { connectionId: 'open-one', closed: false },
        ]);
        expect(leases[0]!.liveUntil).toBe(closedAt + CONTRACT_TIMING.reconnectGraceMs);
        expect(leases[1]!.liveUntil).toBeGreaterThanOrEqual(connectedAt + CONTRACT_TIMING.presenceTtlMs);
        expect(leases[1]!.liveUntil).toBeLessThanOrEqual(closedAt + CONTRACT_TIMING.presenceTtlMs);
        await store.end('leased');
        // The open one is parked (its socket may stay open), the closed one gone.
        expect(await store.connections('leased')).toMatchObject([{ connectionId: 'open-one', closed: false, parked: true }]);
        await store.disconnect('leased', 'open-one');
        expect(await store.connections('leased')).toEqual([]);
        expect(await store.connections('never-seen')).toEqual([]);
      });

      it('a re-assert (silentForMs) keeps the deadline of the last heartbeat: TTL − silentForMs from now, never earlier than it already was', async () => {
        // A long TTL: the checks below do not depend on how fast this machine runs them.
        const ttl = 60_000;
        const store = await open({ presenceTtlMs: ttl, reconnectGraceMs: CONTRACT_TIMING.reconnectGraceMs });
        const leaseOf = async (): Promise<number | undefined> => (await store.connections('reasserted'))[0]?.liveUntil;
        // Re-asserted for a client silent for the TTL or longer: its deadline has passed, nothing is renewed
        // (it is parked: its place kept, nobody online).
        expect(await store.heartbeat('reasserted', 'c', undefined, ttl)).toMatchObject({ events: [] });
        expect((await store.connections('reasserted'))[0]).toMatchObject({ parked: true });
        expect((await store.getMany(['reasserted']))[0]!.status).toBe('offline');
        await store.disconnect('reasserted', 'c');
        // Re-asserted into a store that lost it: online, until the client's last heartbeat + TTL.
        const first = await store.heartbeat('reasserted', 'c', undefined, 6_000);
        expect(first.events.map((e) => e.reason)).toEqual(['connected']);
        expect(await leaseOf()).toBe(first.serverTime + ttl - 6_000);
        // A second re-assert telling an older heartbeat does not shorten it.
        await store.heartbeat('reasserted', 'c', undefined, 30_000);
        expect(await leaseOf()).toBe(first.serverTime + ttl - 6_000);
        // A heartbeat from the client: a full TTL again.
        const beat = await store.heartbeat('reasserted', 'c');
        expect(await leaseOf()).toBe(beat.serverTime + ttl);
      });
    });

    describe('timeline', () => {
      it('records each event, newest first, with its reason, times and the pod of the store that produced it', async () => {
        const store = await open();
        const produced = [
          ...(await store.connect('alice', 'c1')).events,
          ...(await store.heartbeat('alice', 'c1', { title: 'set' })).events,
          ...(await store.end('alice')).events,
        ];
        const timeline = await store.timeline('alice', 50);
        expect(timeline.map((entry) => entry.reason)).toEqual(['ended', 'meta', 'connected']);
        expect(timeline.map((entry) => entry.version)).toEqual(produced.map((event) => event.version).reverse());
        for (const entry of timeline) {
          expect(entry).toEqual({ status: expect.any(String), reason: expect.any(String), since: expect.any(Number), version: expect.any(Number), at: expect.any(Number), pod: expect.any(String) });
          expect(entry.pod.length).toBeGreaterThan(0);
          expect(entry.at).toBeGreaterThanOrEqual(entry.since);
        }
        expect(await store.timeline('alice', 2)).toEqual(timeline.slice(0, 2));
        expect(await store.timeline('nobody', 50)).toEqual([]);
      });

      it('keeps the last 50 transitions', async () => {
        const store = await open();
        for (let i = 0; i < 30; i += 1) {
          await store.connect('busy', `c${i}`);
          await store.end('busy');
          await store.disconnect('busy', `c${i}`); // else its socket, parked, keeps a place
        }
        const timeline = await store.timeline('busy', 100);
        expect(timeline).toHaveLength(50);
        expect(timeline[0]!.reason).toBe('ended');
        expect(timeline.every((entry, i) => i === 0 || entry.version < timeline[i - 1]!.version)).toBe(true);
      });

      it('records an expiry as a timeout, with the deadline as since', async () => {
        const store = await open();
        const connected = await store.connect('quiet', 'c1');
        const { events } = await sweepUntil([store], connected.serverTime + TTL, (all) => all.length > 0);
        expect(reasonsOf(events)).toEqual(['quiet:offline:timeout']);
        const [latest] = await store.timeline('quiet', 1);
        expect(latest).toMatchObject({ status: 'offline', reason: 'timeout', since: connected.serverTime + TTL });
      });
    });

    describe('versions', () => {
      it('strictly increase over every kind of operation, and the state always carries the latest', async () => {
        const store = await open();
        const versions: number[] = [];
        const record = async (result: StoreResult | Promise<StoreResult>): Promise<void> => {
          const { events } = await result;
          for (const e of events) versions.push(e.version);
          const [state] = await store.getMany(['alice']);
          expect(state!.version).toBe(versions[versions.length - 1]);
        };
        await record(store.connect('alice', 'c1'));
        await record(store.heartbeat('alice', 'c1', { n: 1 }));
        await record(store.heartbeat('alice', 'c1', { n: 2 }));
        await record(store.end('alice'));
        await record(store.connect('alice', 'c2'));
        const closed = await store.disconnect('alice', 'c2');
        const { events } = await sweepUntil([store], closed.serverTime + GRACE, (seen) => seen.length > 0);
        versions.push(...events.map((e) => e.version));
        await record(store.heartbeat('alice', 'c3', { n: 3 }));
        await record(store.heartbeat('alice', 'c3', {}));
        expect(versions).toHaveLength(8);
        for (let i = 1; i < versions.length; i += 1) expect(versions[i]).toBeGreaterThan(versions[i - 1]!);
        expect(versions.every((v) => Number.isSafeInteger(v))).toBe(true);
      });

      it('a store that starts empty later gives versions above every one an earlier store gave', async () => {
        const before = await open();
        let highest = 0;
        for (let i = 0; i < 20; i += 1) {
          const results = [await before.connect('alice', `c${i}`), await before.end('alice')];
          for (const { events } of results) for (const e of events) highest = Math.max(highest, e.version);
        }
        await sleep(2);
        const after = await open(CONTRACT_TIMING, newScope());
        expect(await after.getMany(['alice'])).toEqual([{ streamerId: 'alice', status: 'offline', since: 0, version: 0 }]);
        const { events } = await after.connect('alice', 'c');
        expect(events[0]!.version).toBeGreaterThan(highest);
      });
    });

    if (options.shared) {
      describe('two stores on the same data (two pods)', () => {
        it('see each other\'s writes, and versions continue across them', async () => {
          const [a, b] = [await open(), await open()];
          const connected = await a.connect('alice', 'c1');
          expect(await b.getMany(['alice'])).toEqual([stateOf(connected.events[0]!)]);
          expect((await b.connect('alice', 'c2')).events).toEqual([]);
          expect(await b.countOnline()).toBe(1);
          const ended = await b.end('alice');
          expect(reasonsOf(ended.events)).toEqual(['alice:offline:ended']);
          expect(ended.events[0]!.version).toBeGreaterThan(connected.events[0]!.version);
          expect(await a.getMany(['alice'])).toEqual([stateOf(ended.events[0]!)]);
          expect((await a.end('alice')).events).toEqual([]);
        });

        it('a reconnect on the other store within the grace produces no events', async () => {
          const [a, b] = [await open(), await open()];
          const connected = await a.connect('alice', 'c1');
          await a.disconnect('alice', 'c1');
          await sleep(GRACE / 5); // most of the grace left for the reconnect itself
          const back = await b.connect('alice', 'c2');
          expect(back.events).toEqual([]);
          // Through the old lease's TTL, and short of the new one's.
          expect(await sweepQuietlyUntil([a, b], Math.min(connected.serverTime + TTL + 50, back.serverTime + TTL - 20))).toEqual([]);
        });

        it('each event comes out exactly once when the sweeps of both stores race', async () => {
          const [a, b] = [await open(), await open()];
          const ids = Array.from({ length: 12 }, (_, i) => `racer-${String(i).padStart(2, '0')}`);
          const deadlines = new Map<string, number>();
          for (const [i, id] of ids.entries()) deadlines.set(id, (await (i % 2 === 0 ? a : b).connect(id, 'c')).serverTime + TTL);
          const last = Math.max(...deadlines.values());
          const { sweeps, events } = await sweepUntil([a, b, a, b], last, (seen) => seen.length >= ids.length, 5);
          expectNothingBefore(sweeps, Math.min(...deadlines.values()));
          expect(events.map((e) => e.streamerId).sort()).toEqual(ids);
          for (const e of events) expect([e.status, e.reason, e.since]).toEqual(['offline', 'timeout', deadlines.get(e.streamerId)]);
          expect(await sweepQuietlyUntil([a, b], last + 50)).toEqual([]);
        });
      });
    }
  });
}
