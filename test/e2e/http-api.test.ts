import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { beatingStreamer, FAST_TIMING, streamer, watch } from '../helpers/presence-clients.js';
import { waitUntil } from '../helpers/timing.js';
import { operatorHeaders, signToken } from '../helpers/tokens.js';

useCleanup();
let app: AppProcess;
beforeAll(async () => {
  app = await startApp({ env: FAST_TIMING });
});

const get = async (path: string, headers: Record<string, string> = {}) => {
  const res = await fetch(`${app.url}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) };
};

test('GET /v1/streamers/:id/presence: a never-seen streamer is offline with version 0; an online one shows its state', async () => {
  expect((await get('/v1/streamers/http-nobody/presence')).json()).toEqual({ streamerId: 'http-nobody', status: 'offline', since: 0, version: 0 });

  const viewer = await watch(app.url, ['http-one']);
  const { stop } = await beatingStreamer(app.url, 'http-one');
  const online = await viewer.events.waitFor();
  const read = await get('/v1/streamers/http-one/presence');
  stop();
  expect(read.status).toBe(200);
  expect(read.json()).toEqual({ streamerId: 'http-one', status: 'online', since: online.payload.since, version: online.payload.version });
});

test.each([['a space', 'bad%20id'], ['65 characters', 'x'.repeat(65)], ['a slash', 'a%2Fb'], ['an emoji', '%F0%9F%98%80']])(
  'GET /v1/streamers/:id/presence with %s answers 400 with an error code',
  async (_name, id) => {
    const res = await get(`/v1/streamers/${id}/presence`);
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({ error: { code: 'invalid_id', message: expect.any(String) } });
  },
);

test('GET /v1/streamers?status=online pages through more online streamers than one page holds', async () => {
  const ids = Array.from({ length: 25 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
  // Each beats from its own connect on: 25 handshakes on a busy machine can outlast the TTL.
  const beating = await Promise.all(ids.map((id) => beatingStreamer(app.url, id)));
  await waitUntil(async () => (await get('/v1/streamers/page-24/presence')).json().status === 'online', 5_000);

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
    const page = (await get(`/v1/streamers?status=online&limit=10${query}`)).json();
    expect(page.items.length).toBeLessThanOrEqual(10);
    for (const item of page.items) expect(item).toMatchObject({ status: 'online', version: expect.any(Number), since: expect.any(Number) });
    seen.push(...page.items.map((item: { streamerId: string }) => item.streamerId));
    cursor = page.nextCursor;
    pages += 1;
  } while (cursor !== null && pages < 20);

  const listed = seen.filter((id) => id.startsWith('page-'));
  expect(listed).toEqual(ids);
  expect(new Set(seen).size).toBe(seen.length);
  expect(pages).toBeGreaterThanOrEqual(3);

  // An ended streamer leaves the list.
  beating[0]!.stop(); // a heartbeat after `end` would bring it back
  await beating[0]!.socket.timeout(5_000).emitWithAck('end');
  const all = (await get('/v1/streamers?status=online&limit=1000')).json();
  expect(all.items.map((item: { streamerId: string }) => item.streamerId)).not.toContain('page-00');
  expect(all.nextCursor).toBeNull();
  for (const { stop } of beating) stop();
});

test.each([
  ['an unknown status', '/v1/streamers?status=sleeping'],
  ['status=offline', '/v1/streamers?status=offline'],
  ['limit=0', '/v1/streamers?limit=0'],
  ['limit over 1000', '/v1/streamers?limit=1001'],
  ['a fractional limit', '/v1/streamers?limit=2.5'],
  ['a cursor this service did not make', '/v1/streamers?cursor=%25%25%25'],
])('GET /v1/streamers with %s answers 400', async (_name, path) => {
  const res = await get(path);
  expect(res.status).toBe(400);
  expect(res.json()).toEqual({ error: { code: expect.any(String), message: expect.any(String) } });
});

test.each([
  ['limit twice', '/v1/streamers?limit=1&limit=2'],
  ['status twice', '/v1/streamers?status=online&status=online'],
  ['after twice on the event feed', '/v1/events?after=a&after=b'],
  ['waitMs twice on the event feed', '/v1/events?waitMs=1&waitMs=2'],
])('%s answers 400 invalid_query, never a 500', async (_name, path) => {
  const res = await fetch(`${app.url}${path}`, { headers: operatorHeaders() });
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({ error: { code: 'invalid_query', message: expect.any(String) } });
});

test('/healthz and /readyz answer 200 in embedded mode', async () => {
  expect((await get('/healthz')).status).toBe(200);
  const ready = await get('/readyz');
  expect(ready.status).toBe(200);
  expect(ready.json()).toEqual({ status: 'ready' });
});

test('/metrics is Prometheus text with the presence metrics', async () => {
  const res = await get('/metrics');
  expect(res.status).toBe(200);
  expect(res.type).toMatch(/^text\/plain/);
  for (const name of [
    'presence_connections',
    'presence_online_streamers',
    'presence_heartbeats_total',
    'presence_events_total',
    'presence_offline_lag_seconds_bucket',
    'process_resident_memory_bytes',
  ]) {
    expect(res.text).toContain(name);
  }
});

test('GET /v1/streamers/:id/timeline answers why a streamer is offline, newest first, with the pod that decided it', async () => {
  const viewer = await watch(app.url, ['http-timeline']);
  const socket = await streamer(app.url, 'http-timeline');
  await viewer.events.waitFor((event) => event.reason === 'connected');
  await socket.timeout(5_000).emitWithAck('end');
  await viewer.events.waitFor((event) => event.reason === 'ended');

  const operator = operatorHeaders();
  const res = await get('/v1/streamers/http-timeline/timeline', operator);
  expect(res.status).toBe(200);
  const body = res.json();
  expect(body.streamerId).toBe('http-timeline');
  expect(body.items.map((item: { reason: string }) => item.reason)).toEqual(['ended', 'connected']);
  for (const item of body.items) expect(item).toMatchObject({ pod: expect.stringMatching(/.+/), at: expect.any(Number), version: expect.any(Number) });
  expect((await get('/v1/streamers/http-timeline/timeline?limit=1', operator)).json().items).toHaveLength(1);
  expect((await get('/v1/streamers/bad%20id/timeline', operator)).status).toBe(400);
  expect((await get('/v1/streamers/http-timeline/timeline?limit=0', operator)).status).toBe(400);
});

test.each([
  ['no Authorization', {}],
  ['a viewer token', { Authorization: `Bearer ${signToken({ sub: 'v', role: 'viewer' })}` }],
  ['a streamer token', { Authorization: `Bearer ${signToken({ sub: 'http-timeline', role: 'streamer' })}` }],
  ['an expired operator token', { Authorization: `Bearer ${signToken({ sub: 'ops', role: 'operator', expiresInSec: -60 })}` }],
  ['an operator token in another scheme', { Authorization: `Token ${signToken({ sub: 'ops', role: 'operator' })}` }],
])('the timeline with %s: 401 unauthorized', async (_name, headers) => {
  const res = await get('/v1/streamers/http-timeline/timeline', headers);
  expect(res.status).toBe(401);
  expect(res.json()).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
});
