import type { PresenceEvent, PresenceState } from '../../src/presence/domain/presence-state.js';
import { isVisibleChange, PresenceMap } from '../../src/sdk/presence-map.js';

const offline0: PresenceState = { streamerId: 'a', status: 'offline', since: 0, version: 0 };
const online1: PresenceEvent = { streamerId: 'a', status: 'online', since: 1_000, version: 10, reason: 'connected' };
const meta2: PresenceEvent = { ...online1, version: 20, meta: { title: 'set' }, reason: 'meta' };
const ended3: PresenceEvent = { streamerId: 'a', status: 'offline', since: 3_000, version: 30, reason: 'ended' };

describe('PresenceMap.apply', () => {
  test('the first state of an id is a change with no previous; a snapshot has no reason', () => {
    const map = new PresenceMap();
    expect(map.apply(offline0)).toEqual({ state: offline0, previous: undefined, reason: undefined });
    expect(map.get('a')).toEqual(offline0);
  });

  test('a newer event is a change, carries its reason, and is stored without it', () => {
    const map = new PresenceMap();
    map.apply(offline0);
    expect(map.apply(online1)).toEqual({
      state: { streamerId: 'a', status: 'online', since: 1_000, version: 10 },
      previous: offline0,
      reason: 'connected',
    });
    expect(map.get('a')).not.toHaveProperty('reason');
  });

  test.each([
    ['an older version', online1, { ...offline0, version: 5 }],
    ['the same version (a duplicate)', online1, { ...online1 }],
    ['a snapshot that raced a newer event', meta2, { streamerId: 'a', status: 'online', since: 1_000, version: 10 } as PresenceState],
    ['a never-seen (version 0) state after a known one', online1, offline0],
  ])('%s is dropped and leaves the known state', (_name, known, incoming) => {
    const map = new PresenceMap();
    map.apply(known);
    expect(map.apply(incoming)).toBeUndefined();
    expect(map.get('a')!.version).toBe(known.version);
  });

  test('events out of order: the newest wins whatever the arrival order', () => {
    const map = new PresenceMap();
    const changes = [ended3, online1, meta2].map((event) => map.apply(event));
    expect(changes.map((change) => change?.reason)).toEqual(['ended', undefined, undefined]);
    expect(map.get('a')).toMatchObject({ status: 'offline', version: 30 });
  });

  test('a newer version that changes nothing visible is stored but is not a change', () => {
    const map = new PresenceMap();
    map.apply(meta2);
    const same: PresenceState = { streamerId: 'a', status: 'online', since: 1_000, version: 25, meta: { title: 'set' } };
    expect(map.apply(same)).toBeUndefined();
    expect(map.get('a')!.version).toBe(25);
    // ...so the replay of version 20 is stale from now on.
    expect(map.apply(meta2)).toBeUndefined();
  });

  test('a reconnect snapshot: online while away and back again shows as a change of since only', () => {
    const map = new PresenceMap();
    map.apply(online1);
    const again: PresenceState = { streamerId: 'a', status: 'online', since: 5_000, version: 50 };
    expect(map.apply(again)).toMatchObject({ state: again, previous: { since: 1_000 } });
  });

  test('ids are independent; delete forgets one so its next state is a first sight again', () => {
    const map = new PresenceMap();
    map.apply(online1);
    map.apply({ ...offline0, streamerId: 'b' });
    expect(map.size).toBe(2);
    expect(map.delete('a')).toBe(true);
    expect(map.apply({ ...offline0, version: 1 })).toMatchObject({ previous: undefined });
    expect([...map.snapshot().keys()].sort()).toEqual(['a', 'b']);
  });

  test('snapshot() is a copy, and stored states are frozen copies', () => {
    const map = new PresenceMap();
    const incoming = { ...meta2, meta: { title: 'set' } };
    map.apply(incoming);
    const copy = map.snapshot();
    map.apply(ended3);
    expect(copy.get('a')!.status).toBe('online');
    incoming.meta.title = 'changed afterwards';
    expect(map.get('a')!.meta).toBeUndefined();
    expect(Object.isFrozen(copy.get('a'))).toBe(true);
    expect(Object.isFrozen(copy.get('a')!.meta)).toBe(true);
  });
});

describe('isVisibleChange', () => {
  const base: PresenceState = { streamerId: 'a', status: 'online', since: 1, version: 1, meta: { x: 1, y: 'z' } };
  test.each<[string, Partial<PresenceState>, boolean]>([
    ['only the version', { version: 2 }, false],
    ['the same meta in another key order', { meta: { y: 'z', x: 1 } }, false],
    ['status', { status: 'offline' }, true],
    ['since', { since: 2 }, true],
    ['a meta value', { meta: { x: 2, y: 'z' } }, true],
    ['a meta key added', { meta: { x: 1, y: 'z', w: null } }, true],
    ['meta dropped', { meta: undefined }, true],
  ])('%s → %s', (_name, patch, expected) => {
    expect(isVisibleChange(base, { ...base, ...patch })).toBe(expected);
  });
});
