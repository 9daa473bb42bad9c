import { chartPath } from '../../../src/dashboard/browser/chart.js';
import { type ConsoleEvent, EventList } from '../../../src/dashboard/browser/event-list.js';
import type { PresenceReason } from '../../../src/presence/domain/presence-state.js';

const at = 1_800_000_000_000;
function transition(streamerId: string, version: number, reason: PresenceReason, since = at, pod = 'pod-a'): ConsoleEvent {
  return { event: { streamerId, status: reason === 'connected' || reason === 'meta' ? 'online' : 'offline', since, version, reason }, pod, at: since };
}
const everything = { idPrefix: '', reason: null };

describe('EventList: the event console', () => {
  test('each transition once, newest first, however often a backfill repeats it', () => {
    const list = new EventList();
    expect(list.add([transition('a', 1, 'connected', at), transition('b', 1, 'connected', at + 5)])).toBe(true);
    expect(list.add([transition('a', 1, 'connected', at), transition('a', 2, 'ended', at + 10)])).toBe(true);
    expect(list.add([transition('a', 2, 'ended', at + 10)])).toBe(false);
    expect(list.view(everything).map(({ event }) => `${event.streamerId}/${event.version}`)).toEqual(['a/2', 'b/1', 'a/1']);
  });

  test('filters by id prefix and by reason', () => {
    const list = new EventList();
    list.add([transition('scene-a', 1, 'connected'), transition('scene-b', 1, 'connected'), transition('other', 1, 'connected'), transition('scene-a', 2, 'ended', at + 1)]);
    expect(list.view({ idPrefix: 'scene-', reason: null })).toHaveLength(3);
    expect(list.view({ idPrefix: 'scene-', reason: 'ended' }).map(({ event }) => event.streamerId)).toEqual(['scene-a']);
    expect(list.view({ idPrefix: 'nobody', reason: null })).toEqual([]);
  });

  test('paused, it shows nothing new and counts what waits; resumed, it shows all', () => {
    const list = new EventList();
    list.add([transition('a', 1, 'connected')]);
    list.pause();
    expect(list.add([transition('b', 1, 'connected'), transition('c', 1, 'connected')])).toBe(false);
    expect(list.waiting).toBe(2);
    expect(list.view(everything)).toHaveLength(1);
    list.resume();
    expect(list.waiting).toBe(0);
    expect(list.view(everything)).toHaveLength(3);
  });

  test('rates by reason over the last 10 s of transition time, and the pods that decided', () => {
    const list = new EventList();
    list.add([
      transition('a', 1, 'connected', at - 1_000, 'pod-a'),
      transition('b', 1, 'connected', at - 2_000, 'pod-b'),
      transition('c', 1, 'timeout', at - 9_000, 'pod-b'),
      transition('d', 1, 'connected', at - 11_000, 'pod-a'),
    ]);
    expect(list.ratesByReason(at)).toEqual(new Map([['connected', 0.2], ['timeout', 0.1]]));
    expect(list.deciders()).toEqual(new Map([['pod-a', { count: 2, lastAt: at - 1_000 }], ['pod-b', { count: 2, lastAt: at - 2_000 }]]));
  });
});

describe('chartPath', () => {
  test('scales time across the width and counts up to the highest, leaving out points outside the window', () => {
    const { path, ceiling } = chartPath([{ at: 200, online: 5 }, { at: 100, online: 0 }, { at: 50, online: 99 }], 100, 200, 600, 100);
    expect(ceiling).toBe(5);
    expect(path).toBe('M0.0,100.0 L600.0,0.0');
  });

  test('no points: an empty path and a ceiling of 1', () => {
    expect(chartPath([], 0, 1, 600, 100)).toEqual({ path: '', ceiling: 1 });
  });
});
