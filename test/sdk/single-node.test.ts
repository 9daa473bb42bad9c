// The SDK against one embedded-mode app (FAST_TIMING: heartbeat 400 ms, TTL 1200 ms, grace 700 ms).
import { jest } from '@jest/globals';
import type { PresenceState } from '../../src/presence/domain/presence-state.js';
import { PresenceError } from '../../src/sdk/errors.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, GRACE_MS, HEARTBEAT_MS, TTL_MS } from '../helpers/presence-clients.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { closeClients, heartbeatsOn, record, streamerClient, streamerToken, viewerClient } from './sdk-helpers.js';

useCleanup();
afterEach(closeClients);
let app: AppProcess;
beforeAll(async () => {
  // No clock leeway: the token tests below let a token expire within seconds on a live connection.
  app = await startApp({ env: { ...FAST_TIMING, JWT_CLOCK_LEEWAY_MS: '0' } });
});

const status = (id: string, value: PresenceState['status']) => (state: PresenceState) => state.streamerId === id && state.status === value;

test('a StreamerClient going online reaches a ViewerClient: first the snapshot, then one online change', async () => {
  const viewer = viewerClient({ url: app.url });
  const changes = record(viewer, 'change');
  const onlines = record(viewer, 'online');
  expect(await viewer.watch(['sdk-online'])).toEqual([{ streamerId: 'sdk-online', status: 'offline', since: 0, version: 0 }]);
  expect(changes.all().map((c) => c.args)).toEqual([[{ streamerId: 'sdk-online', status: 'offline', since: 0, version: 0 }, undefined, undefined]]);

  const streamer = streamerClient('sdk-online', { url: app.url });
  const states = record(streamer, 'state');
  const sessions = record(streamer, 'session');
  const session = await sessions.waitFor();
  expect(session.args[0]).toMatchObject({ streamerId: 'sdk-online', heartbeatIntervalMs: HEARTBEAT_MS, presenceTtlMs: TTL_MS });
  expect(streamer.state).toBe('online');
  expect(states.all().map((s) => s.args)).toEqual([['online', 'connecting']]);

  const online = await onlines.waitFor();
  expect(online.args[0]).toMatchObject({ streamerId: 'sdk-online', status: 'online' });
  expect(changes.all()[1]!.args).toEqual([online.args[0], { streamerId: 'sdk-online', status: 'offline', since: 0, version: 0 }, 'connected']);
  expect(viewer.get('sdk-online')).toEqual(online.args[0]);
  expect(viewer.snapshot()).toEqual(new Map([['sdk-online', online.args[0]]]));
  expect(viewer.state).toBe('online');
});

test('setMeta: one change for viewers; the same meta again publishes nothing; a refused meta rejects and is reverted', async () => {
  const viewer = viewerClient({ url: app.url });
  const changes = record(viewer, 'change');
  await viewer.watch(['sdk-meta']);

  // The meta given at construction goes out with the first heartbeat, right after the session.
  const streamer = streamerClient('sdk-meta', { url: app.url, meta: { title: 'warm-up' } });
  await changes.waitFor((state) => state.meta?.title === 'warm-up');

  const meta = { title: 'Friday set', viewers: 12, hd: true, game: null };
  const seen = changes.count;
  await streamer.setMeta(meta);
  const changed = await changes.waitFor((state) => state.meta?.title === 'Friday set', 5_000, seen);
  expect(changed.args[0]).toMatchObject({ status: 'online', meta });
  expect(changed.args[1]).toMatchObject({ status: 'online', meta: { title: 'warm-up' } });
  expect(changed.args[2]).toBe('meta');
  expect(viewer.get('sdk-meta')!.meta).toEqual(meta);

  await streamer.setMeta({ ...meta });
  await changes.expectNoneFor(300);

  const errors = record(streamer, 'error');
  const refused = streamer.setMeta({ nested: { no: 'objects' } } as never);
  await expect(refused).rejects.toBeInstanceOf(PresenceError);
  await expect(refused).rejects.toMatchObject({ code: 'invalid_payload' });
  expect(errors.firsts()).toEqual([expect.objectContaining({ code: 'invalid_payload' })]);
  expect(streamer.meta).toEqual(meta);
  // Heartbeats go on without the refused meta: still online, nothing published, over two TTLs.
  await changes.expectNoneFor(2 * TTL_MS);
  expect(streamer.state).toBe('online');
});

test('end: viewers see offline (ended) at once, and the client is closed', async () => {
  const viewer = viewerClient({ url: app.url });
  const offlines = record(viewer, 'offline');
  await viewer.watch(['sdk-end']);
  const streamer = streamerClient('sdk-end', { url: app.url });
  const states = record(streamer, 'state');
  // Both: the server may publish online before the streamer's client has seen its connect acknowledged,
  // and end() on a client still connecting rejects (nothing to send it on).
  await waitUntil(() => viewer.get('sdk-end')?.status === 'online' && streamer.state === 'online');

  const endedAt = Date.now();
  await streamer.end();
  expect(streamer.state).toBe('closed');
  expect(states.all().map((s) => s.args[0])).toEqual(['online', 'closed']);
  const offline = await offlines.waitFor();
  expect(offline.at - endedAt).toBeLessThan(1_000);
  expect(offline.args[0]).toMatchObject({ streamerId: 'sdk-end', status: 'offline' });
  expect(record(viewer, 'change').count).toBe(0);

  await expect(streamer.setMeta({ title: 'too late' })).rejects.toThrow(/closed/);
  await streamer.end(); // a no-op on a closed client
  await offlines.expectNoneFor(GRACE_MS + 300);
});

test('heartbeats follow the session interval with a little jitter and keep the streamer online over several TTLs', async () => {
  const viewer = viewerClient({ url: app.url });
  const changes = record(viewer, 'change');
  await viewer.watch(['sdk-beat']);
  const streamer = streamerClient('sdk-beat', { url: app.url });
  await record(streamer, 'session').waitFor();
  expect(streamer.session?.heartbeatIntervalMs).toBe(HEARTBEAT_MS);
  await changes.waitFor(status('sdk-beat', 'online'));

  const before = await heartbeatsOn(app);
  const windowMs = 3 * TTL_MS;
  await changes.expectNoneFor(windowMs);
  const beats = (await heartbeatsOn(app)) - before;
  // One every 360–400 ms (jitter 0.1): 9 or 10 in the window; timers only ever fire late under load.
  expect(beats).toBeGreaterThanOrEqual(6);
  expect(beats).toBeLessThanOrEqual(Math.ceil(windowMs / (HEARTBEAT_MS * 0.9)) + 1);
  expect(viewer.get('sdk-beat')!.status).toBe('online');
});

test('no heartbeat is queued while disconnected: after a reconnect to another pod the server gets no burst, and the meta again', async () => {
  const [doomed, spare] = await Promise.all([startApp({ env: FAST_TIMING }), startApp({ env: FAST_TIMING })]);
  // random 0.75: heartbeats every 370 ms, and the retry waits 1500 ms, about four heartbeats' worth.
  const streamer = streamerClient('sdk-volatile', {
    urls: [doomed.url, spare.url],
    backoff: { initialMs: 2_000, maxMs: 2_000 },
    random: () => 0.75,
  });
  const sessions = record(streamer, 'session');
  await sessions.waitFor();
  await streamer.setMeta({ title: 'kept' });
  await sleep(2 * HEARTBEAT_MS);
  expect(await heartbeatsOn(doomed)).toBeGreaterThanOrEqual(2);

  await doomed.kill9();
  await waitUntil(() => streamer.state === 'reconnecting');
  await sessions.waitFor(() => true, 5_000, 1);
  expect(streamer.url).toBe(spare.url);
  // Within the first interval on the new pod: only the heartbeat that re-sends the meta (the connect
  // is not counted), nothing saved up from the outage.
  expect(await heartbeatsOn(spare)).toBeLessThanOrEqual(2);
  await sleep(3 * HEARTBEAT_MS);
  const beats = await heartbeatsOn(spare);
  expect(beats).toBeGreaterThanOrEqual(3);
  expect(beats).toBeLessThanOrEqual(6);
  // The spare pod never saw this streamer before: the client sent its meta again.
  const read = await (await fetch(`${spare.url}/v1/streamers/sdk-volatile/presence`)).json();
  expect(read).toMatchObject({ status: 'online', meta: { title: 'kept' } });
});

test('getToken() is called again after the handshake refused an expired token', async () => {
  const tokens = [streamerToken('sdk-token-refused', -60), streamerToken('sdk-token-refused')];
  const getToken = jest.fn(async () => tokens.shift()!);
  const streamer = streamerClient('sdk-token-refused', { url: app.url, getToken, backoff: { initialMs: 100, maxMs: 100 } });
  const errors = record(streamer, 'error');
  const states = record(streamer, 'state');
  await states.waitFor((state) => state === 'online');
  expect(getToken).toHaveBeenCalledTimes(2);
  expect(errors.firsts()).toEqual([expect.objectContaining({ name: 'PresenceError', code: 'unauthorized' })]);
  expect(states.firsts()).toEqual(['online']); // it stayed `connecting` through the refusal
});

test('a token that expires on a live connection: heartbeats are refused, getToken() gives a fresh one, viewers see nothing', async () => {
  const viewer = viewerClient({ url: app.url });
  const changes = record(viewer, 'change');
  await viewer.watch(['sdk-token-expiry']);
  // The first token expires within 1–2 s (exp has one-second resolution); the next ones last an hour.
  const getToken = jest.fn(() => streamerToken('sdk-token-expiry', getToken.mock.calls.length === 1 ? 2 : 3_600));
  const streamer = streamerClient('sdk-token-expiry', { url: app.url, getToken });
  const errors = record(streamer, 'error');
  const states = record(streamer, 'state');
  await changes.waitFor(status('sdk-token-expiry', 'online'));
  const seen = changes.count;

  await states.waitFor((state) => state === 'reconnecting', 5_000);
  await states.waitFor((state) => state === 'online', 5_000, 1);
  expect(getToken).toHaveBeenCalledTimes(2);
  expect(errors.firsts()[0]).toMatchObject({ code: 'unauthorized' });
  await changes.expectNoneFor(GRACE_MS + 2 * TTL_MS);
  expect(changes.count).toBe(seen);
  expect(getToken).toHaveBeenCalledTimes(2);
});

test('a static token refused at the handshake closes the client with an unauthorized error', async () => {
  const streamer = streamerClient('sdk-token-static', { url: app.url, token: streamerToken('sdk-token-static', -60) });
  const errors = record(streamer, 'error');
  const states = record(streamer, 'state');
  await states.waitFor((state) => state === 'closed');
  expect(errors.firsts()).toEqual([expect.objectContaining({ code: 'unauthorized' })]);
});

test('watch: ids are checked and the 1000 limit enforced before anything; requests of 100; unwatch stops events', async () => {
  const viewer = viewerClient({ url: app.url });
  const ids = Array.from({ length: 250 }, (_, i) => `sdk-many-${i}`);
  const states = await viewer.watch([...ids, 'sdk-many-0']);
  expect(states).toHaveLength(250);
  expect(states.every((state) => state.status === 'offline' && state.version === 0)).toBe(true);
  expect(viewer.watched.size).toBe(250);

  await expect(viewer.watch(Array.from({ length: 751 }, (_, i) => `sdk-more-${i}`))).rejects.toThrow(RangeError);
  await expect(viewer.watch(['sdk-more-0', 'not valid!'])).rejects.toThrow(TypeError);
  expect(viewer.watched.size).toBe(250);
  expect(viewer.get('sdk-more-0')).toBeUndefined();
  // 750 more fit exactly.
  await viewer.watch(Array.from({ length: 750 }, (_, i) => `sdk-more-${i}`));
  expect(viewer.watched.size).toBe(1_000);

  const changes = record(viewer, 'change');
  await viewer.unwatch(['sdk-many-7']);
  expect(viewer.get('sdk-many-7')).toBeUndefined();
  streamerClient('sdk-many-7', { url: app.url });
  streamerClient('sdk-many-8', { url: app.url });
  await changes.waitFor(status('sdk-many-8', 'online'));
  await sleep(300);
  expect(changes.firsts().map((state) => state.streamerId)).toEqual(['sdk-many-8']);
});

test("occupancy: the StreamerClient is told how many watch, on connect and when it changes, and exposes it", async () => {
  const early = viewerClient({ url: app.url });
  await early.watch(['sdk-occupancy']);
  // Watched before it connects: told at once, without waiting for a change.
  const streamer = streamerClient('sdk-occupancy', { url: app.url });
  const told = record(streamer, 'occupancy');
  expect((await told.waitFor()).args).toEqual([1]);
  expect(streamer.occupancy).toBe(1);

  const more = [viewerClient({ url: app.url }), viewerClient({ url: app.url })];
  for (const viewer of more) await viewer.watch(['sdk-occupancy']);
  // One notice per 5 s at most: the change comes when the first one's interval ends.
  const changed = await told.waitFor((viewers) => viewers === 3, 8_000);
  expect(changed.at - told.all()[0]!.at).toBeGreaterThanOrEqual(4_750);
  expect(streamer.occupancy).toBe(3);
  const res = await fetch(`${app.url}/v1/streamers/sdk-occupancy/occupancy`);
  expect(await res.json()).toEqual({ streamerId: 'sdk-occupancy', viewers: 3 });
}, 20_000);
