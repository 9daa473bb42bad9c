import { MemoryPresenceStore } from '../../../src/presence/infrastructure/memory-presence.store.js';
import type { PresenceEvent } from '../../../src/presence/domain/presence-state.js';
import { intBetween, mulberry32 } from './prng.js';

/**
 * The in-memory store on a hand-driven clock: the parts the real-time contract suite cannot pin down
 * exactly (its deadline heap skipping moved deadlines, the per-call limit, the exact sweep moment).
 */
const T0 = 1_700_000_000_000;
const timing = { presenceTtlMs: 1_000, reconnectGraceMs: 300 };

function storeWithClock(): { store: MemoryPresenceStore; clock: { now: number } } {
  const clock = { now: T0 };
  return { store: new MemoryPresenceStore(timing, () => clock.now), clock };
}

const reasons = (events: readonly PresenceEvent[]): string[] => events.map((e) => `${e.streamerId}:${e.reason}@${e.since - T0}`);

describe('MemoryPresenceStore on a fake clock', () => {
  it('sweeps at the exact deadline, not 1 ms before, with since = the deadline', async () => {
    const { store, clock } = storeWithClock();
    await store.connect('s', 'c');
    clock.now = T0 + 999;
    expect((await store.expireDue(10)).events).toEqual([]);
    clock.now = T0 + 1_500;
    const { events, serverTime } = await store.expireDue(10);
    expect(serverTime).toBe(T0 + 1_500);
    expect(reasons(events)).toEqual(['s:timeout@1000']);
  });

  it('skips deadlines that a heartbeat moved later, and honours the new one', async () => {
    const { store, clock } = storeWithClock();
    await store.connect('s', 'c');
    for (let t = 500; t <= 5_000; t += 500) {
      clock.now = T0 + t;
      await store.heartbeat('s', 'c');
      expect((await store.expireDue(10)).events).toEqual([]);
    }
    clock.now = T0 + 6_000;
    expect(reasons((await store.expireDue(10)).events)).toEqual(['s:timeout@6000']);
  });

  it('a heartbeat adds no deadline entry: 1,000 heartbeats of 3 streamers leave 3, and the timeouts still come on time', async () => {
    const { store, clock } = storeWithClock();
    for (const id of ['a', 'b', 'c']) await store.connect(id, 'c');
    for (let i = 1; i <= 1_000; i += 1) {
      clock.now = T0 + i;
      await store.heartbeat(['a', 'b', 'c'][i % 3]!, 'c');
    }
    expect(store.deadlineEntries).toBe(3);
    // Each entry comes due at its first deadline and is moved to the streamer's last one.
    clock.now = T0 + 1_500;
    expect((await store.expireDue(10)).events).toEqual([]);
    expect(store.deadlineEntries).toBe(3);
    clock.now = T0 + 2_000;
    expect(reasons((await store.expireDue(10)).events).sort()).toEqual(['a:timeout@1999', 'b:timeout@2000', 'c:timeout@1998']);
    // Their sockets, parked, keep their places a TTL more (no pod renews them here), then are dropped.
    expect(store.deadlineEntries).toBe(3);
    clock.now = T0 + 3_000;
    expect((await store.expireDue(10)).events).toEqual([]);
    expect(store.deadlineEntries).toBe(0);
    expect(await store.connections('a')).toEqual([]);
  });

  it('follows a deadline that a close moved earlier', async () => {
    const { store, clock } = storeWithClock();
    await store.connect('s', 'c');
    clock.now = T0 + 100;
    await store.disconnect('s', 'c');
    clock.now = T0 + 399;
    expect((await store.expireDue(10)).events).toEqual([]);
    clock.now = T0 + 400;
    expect(reasons((await store.expireDue(10)).events)).toEqual(['s:disconnected@400']);
    clock.now = T0 + 5_000;
    expect((await store.expireDue(10)).events).toEqual([]);
  });

  it('claims at most `limit` streamers per call, earliest deadlines first, and the rest on later calls', async () => {
    const { store, clock } = storeWithClock();
    for (let i = 0; i < 5; i += 1) {
      clock.now = T0 + i;
      await store.connect(`s${i}`, 'c');
    }
    clock.now = T0 + 10_000;
    expect(reasons((await store.expireDue(2)).events)).toEqual(['s0:timeout@1000', 's1:timeout@1001']);
    expect(reasons((await store.expireDue(2)).events)).toEqual(['s2:timeout@1002', 's3:timeout@1003']);
    expect(reasons((await store.expireDue(2)).events)).toEqual(['s4:timeout@1004']);
    expect(await store.countOnline()).toBe(0);
  });

  it('a streamer whose first of two leases runs out is claimed without an event and stays listed', async () => {
    const { store, clock } = storeWithClock();
    await store.connect('s', 'a');
    clock.now = T0 + 500;
    await store.connect('s', 'b');
    clock.now = T0 + 1_000;
    expect((await store.expireDue(10)).events).toEqual([]);
    expect((await store.listOnline(null, 10)).items.map((s) => s.streamerId)).toEqual(['s']);
    clock.now = T0 + 1_500;
    expect(reasons((await store.expireDue(10)).events)).toEqual(['s:timeout@1500']);
  });

  it('matches the pure rules over a random history of many streamers (same events, same online set)', async () => {
    const random = mulberry32(11);
    const { store, clock } = storeWithClock();
    const online = new Set<string>();
    const lastVersion = new Map<string, number>();
    for (let i = 0; i < 4_000; i += 1) {
      clock.now += intBetween(random, 0, 60);
      const id = `s${intBetween(random, 0, 19)}`;
      const conn = `c${intBetween(random, 0, 2)}`;
      const r = random();
      // A close for a streamer the store has no record of puts it online for the grace, silently (the
      // store takes it for one it lost while live): the online set has it without an event.
      if (r >= 0.55 && r < 0.7 && !lastVersion.has(id)) online.add(id);
      const { events } =
        r < 0.4 ? await store.heartbeat(id, conn)
        : r < 0.55 ? await store.connect(id, conn)
        : r < 0.7 ? await store.disconnect(id, conn)
        : r < 0.73 ? await store.end(id)
        : await store.expireDue(intBetween(random, 1, 5));
      for (const e of events) {
        expect(e.version).toBeGreaterThan(lastVersion.get(e.streamerId) ?? 0);
        lastVersion.set(e.streamerId, e.version);
        if (e.status === 'online') online.add(e.streamerId);
        else online.delete(e.streamerId);
      }
      if (i % 97 === 0) {
        const listed: string[] = [];
        let cursor: string | null = null;
        do {
          const page = await store.listOnline(cursor, 3);
          listed.push(...page.items.map((s) => s.streamerId));
          cursor = page.lastId;
        } while (cursor !== null);
        expect(listed).toEqual([...online].sort());
        expect(await store.countOnline()).toBe(online.size);
        const states = await store.getMany([...lastVersion.keys()]);
        for (const s of states) expect(s.version).toBe(lastVersion.get(s.streamerId));
      }
    }
  });
});

describe('MemoryPresenceStore retention of offline streamers', () => {
  const WEEK = 7 * 24 * 3600 * 1000;

  it('forgets a streamer offline for the whole retention, timeline included, and versions still rise after', async () => {
    const { store, clock } = storeWithClock();
    await store.connect('gone', 'c');
    const ended = (await store.end('gone')).events[0]!;
    clock.now = T0 + WEEK - 1;
    await store.expireDue(10);
    expect((await store.getMany(['gone']))[0]).toMatchObject({ status: 'offline', version: ended.version });
    expect(await store.timeline('gone', 50)).toHaveLength(2);

    clock.now = T0 + WEEK;
    await store.expireDue(10);
    expect(await store.getMany(['gone'])).toEqual([{ streamerId: 'gone', status: 'offline', since: 0, version: 0 }]);
    expect(await store.timeline('gone', 50)).toEqual([]);
    const back = (await store.connect('gone', 'c2')).events[0]!;
    expect(back.version).toBeGreaterThan(ended.version);
  });

  it('a streamer whose socket stays open, parked, past the retention is forgotten a retention after the socket went', async () => {
    const clock = { now: T0 };
    const hour = 3_600_000;
    const store = new MemoryPresenceStore({ presenceTtlMs: hour, reconnectGraceMs: 300 }, () => clock.now);
    await store.connect('lingering', 'c');
    await store.end('lingering');
    // Its pod keeps the open socket's place all week long.
    for (let t = 0; t <= WEEK; t += hour / 2) {
      clock.now = T0 + t;
      await store.heartbeat('lingering', 'c', undefined, hour);
      await store.expireDue(10);
    }
    clock.now = T0 + WEEK + 1;
    await store.expireDue(10);
    expect((await store.getMany(['lingering']))[0]!.version).toBeGreaterThan(0);
    await store.disconnect('lingering', 'c');
    clock.now = T0 + 2 * WEEK + 2;
    await store.expireDue(10);
    expect((await store.getMany(['lingering']))[0]!.version).toBe(0);
    expect(store.forgettableCount).toBe(0);
  });

  it('a streamer flapping online and offline is remembered once, not once per transition', async () => {
    const { store, clock } = storeWithClock();
    for (let i = 0; i < 20_000; i += 1) {
      clock.now = T0 + i;
      await store.heartbeat('flapper', 'c');
      await store.end('flapper');
    }
    await store.end('other');
    await store.connect('other', 'c');
    await store.end('other');
    expect(store.forgettableCount).toBe(2);
    // And it is still forgotten a retention after its LAST transition, not its first.
    clock.now = T0 + WEEK + 10_000;
    await store.expireDue(10);
    expect((await store.getMany(['flapper']))[0]!.version).toBeGreaterThan(0);
    clock.now = T0 + WEEK + 20_000;
    await store.expireDue(10);
    expect((await store.getMany(['flapper']))[0]!.version).toBe(0);
    expect(store.forgettableCount).toBe(0);
  });

  it('keeps a streamer that came back, or changed, during the retention', async () => {
    const { store, clock } = storeWithClock();
    await store.connect('back', 'c');
    await store.end('back');
    clock.now = T0 + 1_000;
    await store.heartbeat('back', 'c');
    clock.now = T0 + WEEK + 1;
    await store.expireDue(10);
    expect((await store.getMany(['back']))[0]!.version).toBeGreaterThan(0);
    expect(await store.countOnline()).toBe(0); // its lease timed out meanwhile, but it is remembered
    expect(await store.timeline('back', 50)).not.toEqual([]);
  });
});
