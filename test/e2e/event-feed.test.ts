// GET /v1/events, the operators' event feed over the transition log: in embedded mode (one shard) and in
// Redis mode (16 shards, merged), paging without gaps or repeats, the long poll, and its refusals.
import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, streamer } from '../helpers/presence-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { operatorHeaders, signToken } from '../helpers/tokens.js';

useCleanup();

interface FeedPage {
  items: Array<{ cursor: string; event: PresenceEvent }>;
  nextCursor: string;
}

async function feed(app: AppProcess, query: string, headers: Record<string, string> = operatorHeaders()): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${app.url}/v1/events${query}`, { headers });
  return { status: res.status, body: await res.json() };
}

async function page(app: AppProcess, query: string): Promise<FeedPage> {
  const { status, body } = await feed(app, query);
  if (status !== 200) throw new Error(`GET /v1/events${query}: ${status} ${JSON.stringify(body)}`);
  return body as FeedPage;
}

/** Pages through the whole feed after `cursor`, `limit` at a time. */
async function readAll(app: AppProcess, limit: number, cursor?: string): Promise<{ events: PresenceEvent[]; pages: number; cursor: string }> {
  const events: PresenceEvent[] = [];
  let pages = 0;
  for (;;) {
    const { items, nextCursor } = await page(app, `?limit=${limit}${cursor === undefined ? '' : `&after=${encodeURIComponent(cursor)}`}`);
    pages += 1;
    events.push(...items.map((item) => item.event));
    cursor = nextCursor;
    if (items.length === 0) return { events, pages, cursor };
  }
}

/** Connects then ends each streamer: two transitions each, spread over the log's shards. */
async function transitions(app: AppProcess, ids: string[]): Promise<void> {
  for (const id of ids) {
    const socket = await streamer(app.url, id);
    expect(await socket.timeout(5_000).emitWithAck('end')).toEqual({ ok: true });
    socket.close();
  }
}

describe.each([
  ['embedded mode', false],
  ['Redis mode', true],
])('%s', (_mode, redisMode) => {
  let app: AppProcess;
  beforeAll(async () => {
    const redisUrl = redisMode ? (await startRedis()).url : undefined;
    app = await startApp({ ...(redisUrl === undefined ? {} : { redisUrl }), env: { ...FAST_TIMING, REDIS_KEY_PREFIX: `feed-${process.pid}:` } });
  }, 30_000);

  test('pages through every transition once, in version order per streamer, across shards', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `feed-${i}`);
    await transitions(app, ids);
    // A page size that divides nothing evenly, so pages end in the middle of shards.
    const { events, pages } = await readAll(app, 7);
    const mine = events.filter((e) => ids.includes(e.streamerId));
    expect(mine).toHaveLength(2 * ids.length);
    expect(new Set(mine.map((e) => `${e.streamerId}:${e.version}`)).size).toBe(mine.length);
    for (const id of ids) {
      const own = mine.filter((e) => e.streamerId === id);
      expect({ id, reasons: own.map((e) => e.reason) }).toEqual({ id, reasons: ['connected', 'ended'] });
      expect(own[0]!.version).toBeLessThan(own[1]!.version);
    }
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(mine.length / 7));
    // Read again, a page at a time, from any item's cursor: exactly what follows it.
    const all = await readAll(app, 1000);
    const middle = (await page(app, '?limit=50')).items[24]!;
    const after = await readAll(app, 13, middle.cursor);
    expect(after.events).toEqual(all.events.slice(25));
  });

  test('a long poll is answered within a few hundred ms of an event; with none, after waitMs, empty', async () => {
    const { cursor } = await readAll(app, 1000);
    const started = Date.now();
    const quiet = await page(app, `?after=${encodeURIComponent(cursor)}&waitMs=400`);
    expect(quiet.items).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);

    const polling = page(app, `?after=${encodeURIComponent(quiet.nextCursor)}&waitMs=10000`);
    await sleep(500);
    const connectedAt = Date.now();
    const socket = await streamer(app.url, 'feed-long-poll');
    const answer = await polling;
    const answeredAt = Date.now();
    expect(answer.items.map((item) => `${item.event.streamerId}:${item.event.reason}`)).toEqual(['feed-long-poll:connected']);
    expect(answeredAt - connectedAt).toBeLessThan(600);
    socket.close();
  });

  test.each([
    ['no Authorization', {}],
    ['a viewer token', { Authorization: `Bearer ${signToken({ sub: 'v', role: 'viewer' })}` }],
    ['a streamer token', { Authorization: `Bearer ${signToken({ sub: 's', role: 'streamer' })}` }],
  ])('401 with %s', async (_name, headers) => {
    expect(await feed(app, '', headers)).toEqual({ status: 401, body: { error: { code: 'unauthorized', message: expect.any(String) } } });
  });

  test.each([
    ['a malformed cursor', '?after=nonsense'],
    ['a cursor with its body altered', '?after=e1.AAAA'],
    ['limit 0', '?limit=0'],
    ['limit over 1000', '?limit=1001'],
    ['waitMs over 30000', '?waitMs=30001'],
    ['a fractional waitMs', '?waitMs=1.5'],
  ])('400 for %s', async (_name, query) => {
    const { status, body } = await feed(app, query);
    expect(status).toBe(400);
    expect(body).toEqual({ error: { code: expect.stringMatching(/^invalid_(cursor|query)$/), message: expect.any(String) } });
  });
});

test('a cursor older than the retention: 410 cursor_expired; a reader that keeps up never sees it', async () => {
  const retentionMs = 3_000;
  const app = await startApp({ env: { ...FAST_TIMING, EVENT_LOG_RETENTION_MS: String(retentionMs) } });
  await transitions(app, ['feed-old']);
  const stale = (await page(app, '?limit=1000')).nextCursor;
  let kept = stale;
  const until = Date.now() + retentionMs + 1_500;
  while (Date.now() < until) {
    kept = (await page(app, `?after=${encodeURIComponent(kept)}`)).nextCursor;
    await sleep(500);
  }
  await waitUntil(async () => (await feed(app, `?after=${encodeURIComponent(stale)}`)).status === 410, 3_000, 200);
  expect(await feed(app, `?after=${encodeURIComponent(stale)}`)).toEqual({ status: 410, body: { error: { code: 'cursor_expired', message: expect.any(String) } } });
  expect((await feed(app, `?after=${encodeURIComponent(kept)}`)).status).toBe(200);
});
