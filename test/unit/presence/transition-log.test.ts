import type { PresenceEvent } from '../../../src/presence/domain/presence-state.js';
import { decodeFeedCursor, encodeFeedCursor } from '../../../src/presence/transport/feed-cursor.js';
import {
  compareIds,
  feedPage,
  firstAtOrAfter,
  idBefore,
  IDLE_POSITION_MARGIN_MS,
  isExpired,
  type LogEntry,
} from '../../../src/presence/domain/transition-log.js';

const event = (streamerId: string, version: number): PresenceEvent => ({ streamerId, status: 'online', since: 1, version, reason: 'connected' });
const entry = (shard: number, id: string, streamerId = `s${shard}`): LogEntry => ({ shard, id, event: event(streamerId, Number(id.split('-')[0])), at: Number(id.split('-')[0]), pod: 'p' });

describe('stream ids', () => {
  test.each([
    ['1-0', '2-0', -1],
    ['2-0', '1-5', 1],
    ['5-1', '5-10', -1],
    ['5-18446744073709551615', '6-0', -1],
    ['7-3', '7-3', 0],
  ])('%s against %s', (a, b, sign) => {
    expect(Math.sign(compareIds(a, b))).toBe(sign);
  });

  test('the id just before another: reading after it starts at that one', () => {
    expect(idBefore('10-5')).toBe('10-4');
    expect(idBefore('10-0')).toBe('9-18446744073709551615');
    expect(compareIds(idBefore('10-0'), '9-99999')).toBeGreaterThan(0);
  });
});

describe('firstAtOrAfter', () => {
  const ids = ['5-0', '5-1', '5-10', '9-0', '10-2', '100-0'];
  const entries = ids.map((id) => entry(0, id));
  test.each([
    ['4-9', 0],
    ['5-0', 0],
    ['5-2', 2],
    ['5-10', 2],
    ['9-18446744073709551615', 4],
    ['10-2', 4],
    ['99-1', 5],
    ['100-1', 6],
  ])('%s: index %i, the same as a filter would keep', (id, index) => {
    expect(firstAtOrAfter(entries, id)).toBe(index);
    expect(entries.slice(index)).toEqual(entries.filter((e) => compareIds(e.id, id) >= 0));
  });

  test('no entries: 0', () => {
    expect(firstAtOrAfter([], '1-0')).toBe(0);
  });
});

describe('feed cursors', () => {
  test('round trip, opaque, and refused when malformed or made for another shard count or layout', () => {
    const position = ['1-0', null, '1796000000000-7'];
    const cursor = encodeFeedCursor(position, '3');
    expect(cursor).not.toContain('1796000000000');
    expect(decodeFeedCursor(cursor, 3, '3')).toEqual(position);
    expect(decodeFeedCursor(cursor, 16, '3')).toBeNull();
    // The same number of positions, of other shards (1 previous + 2 current, after a change): refused.
    expect(decodeFeedCursor(cursor, 3, '1+2')).toBeNull();
    for (const bad of ['', 'x', 'e1.!!!', `e1.${Buffer.from('3;1-0,abc,').toString('base64url')}`, `e1.${Buffer.from('3;1-0,2-99999999999999999999999,').toString('base64url')}`, `e1.${Buffer.from('1-0,2-0,').toString('base64url')}`]) {
      expect([bad, decodeFeedCursor(bad, 3, '3')]).toEqual([bad, null]);
    }
  });

  test('a position older than the retention in any shard has expired', () => {
    expect(isExpired(['100-0', null], 1_100, 1_000)).toBe(false);
    expect(isExpired(['99-5', null], 1_100, 1_000)).toBe(true);
    expect(isExpired([null, null], 10 ** 12, 1_000)).toBe(false);
  });
});

describe('feedPage', () => {
  const now = 1_000_000;
  const idle = `${now - IDLE_POSITION_MARGIN_MS}-0`;

  test('the oldest entries across shards, each shard in its own order; a drained shard moves up to the clock', () => {
    const fetched = [[entry(0, '10-0'), entry(0, '30-0')], [entry(1, '20-0')], []];
    const page = feedPage(fetched, [null, null, '5-0'], 10, now);
    expect(page.items.map((e) => `${e.shard}:${e.id}`)).toEqual(['0:10-0', '1:20-0', '0:30-0']);
    expect(page.next).toEqual([idle, idle, idle]);
  });

  test('a full page stops at the limit; the shards it did not reach keep their place, pinned before their next entry', () => {
    const fetched = [[entry(0, '10-0'), entry(0, '40-0')], [entry(1, '20-0'), entry(1, '30-0')], [entry(2, '50-0')]];
    const page = feedPage(fetched, [null, '15-0', null], 2, now);
    expect(page.items.map((e) => e.id)).toEqual(['10-0', '20-0']);
    expect(page.next).toEqual(['10-0', '20-0', '49-18446744073709551615']);
    // The next page picks up exactly there: nothing skipped, nothing twice.
    const rest = [[entry(0, '40-0')], [entry(1, '30-0')], [entry(2, '50-0')]];
    expect(feedPage(rest, page.next, 2, now).items.map((e) => e.id)).toEqual(['30-0', '40-0']);
  });

  test('a shard that filled its fetch is not drained, even when all of it made the page', () => {
    const page = feedPage([[entry(0, '10-0'), entry(0, '20-0')]], [null], 2, now);
    expect(page.next).toEqual(['20-0']);
  });

  test('positions never move back, also when the clock is behind them', () => {
    const page = feedPage([[]], ['2000000-3'], 10, now);
    expect(page.next).toEqual(['2000000-3']);
  });
});
