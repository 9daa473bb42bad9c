// The operators' console in Chromium, against two pods sharing Redis while a scripted scenario runs:
// sign-in (a token from the fragment; refusal without one, or with an expired one), the chart, the pods
// panel and the event console fill; filters narrow it; pause holds it; a cut connection leaves no gap
// against the event feed; one streamer's detail shows its connections and audience.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { launchChromium } from '../helpers/browser.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { beatingStreamer, FAST_TIMING, watch } from '../helpers/presence-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { operatorHeaders, signToken } from '../helpers/tokens.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

useCleanup();
const OUTPUT = fileURLToPath(new URL('../../test-output/console/', import.meta.url));
// The console polls every 5 s; the scenario is slower than FAST_TIMING's expiries on purpose: nothing here times out.
const env: Record<string, string> = { ...FAST_TIMING, REDIS_KEY_PREFIX: `console-${process.pid}:` };
let a: AppProcess;
let b: AppProcess;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  const redis = await startRedis();
  const receiver = await startWebhookReceiver();
  env.WEBHOOK_URL = receiver.url;
  env.WEBHOOK_SECRET = receiver.secret;
  [a, b] = await Promise.all(['console-a', 'console-b'].map((name) => startApp({ env: { ...env, POD_NAME: name }, redisUrl: redis.url })));
  for (const app of [a, b]) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
  const browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  page.on('console', (message) => {
    // A request refused while the connection is cut is what the test does, not a page error.
    if (message.type() === 'error' && !/ERR_CONNECTION|net::|Failed to load resource|WebSocket/.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  mkdirSync(OUTPUT, { recursive: true });
}, 60_000);

const shot = (name: string): Promise<Buffer> => page.screenshot({ path: `${OUTPUT}${name}.png`, fullPage: true });
const rowCount = (selector: string): Promise<number> => page.locator(selector).count();

test('without a token, or with an expired one, the console asks for one and shows nothing', async () => {
  await page.goto(`${a.url}/`);
  await page.locator('[data-testid="signin"]').waitFor({ state: 'visible' });
  expect(await page.locator('[data-testid="app"]').isHidden()).toBe(true);
  expect(await page.locator('[data-testid="signin-message"]').textContent()).toContain('needs an operator token');
  // Garbage pasted in is refused in place.
  await page.fill('[data-testid="signin-token"]', 'not-a-token');
  await page.click('[data-testid="signin-form"] button');
  expect(await page.locator('[data-testid="signin-message"]').textContent()).toContain('not a token');

  const expired = signToken({ sub: 'ops', role: 'operator', expiresInSec: -120 });
  // Away first: a new fragment on the same page would not load it again.
  await page.goto('about:blank');
  await page.goto(`${a.url}/#token=${expired}`);
  await page.locator('[data-testid="signin"]').waitFor({ state: 'visible' });
  expect(await page.locator('[data-testid="signin-message"]').textContent()).toContain('Your operator token has expired');
  // Known expired from the token itself: no request is made with it (a refused one would say "refused").
  expect(await page.locator('[data-testid="app"]').isHidden()).toBe(true);
  // A viewer's token is no operator's: the service refuses it and the page asks again.
  await page.goto('about:blank');
  await page.goto(`${a.url}/#token=${signToken({ sub: 'v', role: 'viewer' })}`);
  await page.locator('[data-testid="signin"]').waitFor({ state: 'visible' });
  expect(await page.locator('[data-testid="signin-message"]').textContent()).toContain('refused');
  await shot('signin');
}, 30_000);

test('signed in from the printed link, the console fills while two pods serve a scenario, and a cut leaves no gap', async () => {
  const proxy = await startTcpProxy(a.port);
  const feedReads: string[] = [];
  page.on('request', (request) => {
    if (request.url().includes('/v1/console/events')) feedReads.push(request.url());
  });
  // The link the service prints at start in development, through a proxy that can cut the page off.
  const link = a.lines.map((line) => /Console \(operator, development only\): (\S+?)"/.exec(line)?.[1]).find((url) => url !== undefined);
  expect(link).toMatch(/\/#token=[\w-]+\.[\w-]+\.[\w-]+$/);
  await page.goto(link!.replace(/^http:\/\/[^/]+/, `http://127.0.0.1:${proxy.port}`));
  await page.locator('[data-testid="app"]').waitFor({ state: 'visible' });
  expect(page.url()).not.toContain('token=');
  await page.locator('[data-testid="feed-state"][data-state="live"]').waitFor({ timeout: 10_000 });

  // The scenario: streamers on both pods, viewers on both, one meta change and one end.
  const streamers = await Promise.all([
    beatingStreamer(a.url, 'scene-alice'),
    beatingStreamer(b.url, 'scene-bob'),
    beatingStreamer(b.url, 'scene-carol'),
    beatingStreamer(a.url, 'other-dave'),
  ]);
  const viewers = await Promise.all([watch(a.url, ['scene-alice']), watch(b.url, ['scene-alice']), watch(b.url, ['scene-bob'])]);
  await streamers[1]!.socket.timeout(5_000).emitWithAck('heartbeat', { meta: { title: 'late show' } });
  streamers[2]!.stop();
  expect(await streamers[2]!.socket.timeout(5_000).emitWithAck('end')).toEqual({ ok: true });

  // Event console: every transition, with the pod that decided it.
  await page.locator('[data-testid="events"] tr[data-streamer="scene-carol"][data-reason="ended"]').waitFor({ timeout: 10_000 });
  await page.locator('[data-testid="events"] tr[data-streamer="scene-bob"][data-reason="meta"]').waitFor({ timeout: 10_000 });
  expect(await page.locator('[data-testid="events"] tr[data-streamer="scene-bob"][data-reason="meta"]').textContent()).toContain('console-b');
  // At a glance: both pods with their sockets, the chart with samples, connections per second.
  await waitUntil(async () => (await page.locator('[data-testid="pods"] tr[data-pod="console-b"]').textContent())?.includes('console-b'), 10_000, 100);
  await waitUntil(async () => Number(await page.locator('[data-testid="chart-points"]').textContent()) >= 2, 15_000, 200);
  expect(await page.locator('[data-testid="online-line"]').getAttribute('d')).toMatch(/^M[\d.]+,[\d.]+ L/);
  // The hour's samples come from the deployment's series, the same from either pod (the page adds its own as it polls).
  const series = await Promise.all([a, b].map(async (app) => ((await (await fetch(`${app.url}/v1/console/overview`, { headers: operatorHeaders() })).json()) as { series: unknown[] }).series));
  expect(series[0]!.length).toBeGreaterThanOrEqual(1);
  expect(series[1]).toEqual(series[0]);
  // Pods beat every second and the page reads them every 5 s.
  const podB = await waitUntil(async () => {
    const cells = await page.locator('[data-testid="pods"] tr[data-pod="console-b"] td').allTextContents();
    return cells[1] === '2' && cells[2] === '2' ? cells : null;
  }, 15_000, 200).catch(async () => page.locator('[data-testid="pods"] tr[data-pod="console-b"] td').allTextContents());
  expect(podB.slice(0, 4)).toEqual(['console-b', '2', '2', 'ready']);
  expect(podB[5]).toMatch(/^\d+, last/);
  expect(Number(await page.locator('[data-testid="rates"] li[data-reason="connected"] strong').textContent())).toBeGreaterThan(0);
  await shot('glance');

  // Filters narrow the console: by id prefix, then by reason.
  const all = await rowCount('[data-testid="events"] tr');
  await page.fill('[data-testid="event-filter-prefix"]', 'scene-');
  const scene = await page.locator('[data-testid="events"] tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-streamer')));
  expect(scene.length).toBeLessThan(all);
  expect(scene.every((id) => id!.startsWith('scene-'))).toBe(true);
  await page.selectOption('[data-testid="event-filter-reason"]', 'ended');
  expect(await page.locator('[data-testid="events"] tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-streamer')))).toEqual(['scene-carol']);
  await shot('filtered');
  await page.selectOption('[data-testid="event-filter-reason"]', '');
  await page.fill('[data-testid="event-filter-prefix"]', '');

  // Pause holds new events back and counts them; resume shows them.
  await page.click('[data-testid="event-pause"]');
  const paused = await beatingStreamer(b.url, 'while-paused');
  await page.locator('[data-testid="event-waiting"]', { hasText: '1 new while paused' }).waitFor({ timeout: 10_000 });
  expect(await rowCount('[data-testid="events"] tr[data-streamer="while-paused"]')).toBe(0);
  await page.click('[data-testid="event-pause"]');
  await page.locator('[data-testid="events"] tr[data-streamer="while-paused"]').waitFor({ timeout: 5_000 });

  // The page is cut off; transitions happen meanwhile on both pods; then it comes back.
  proxy.cut();
  await page.locator('[data-testid="feed-state"][data-state="reconnecting"]').waitFor({ timeout: 30_000 });
  const during = await Promise.all([beatingStreamer(a.url, 'cut-one'), beatingStreamer(b.url, 'cut-two')]);
  during[1]!.stop();
  await during[1]!.socket.timeout(5_000).emitWithAck('end');
  await sleep(1_000);
  const readsBeforeRestore = feedReads.length;
  proxy.restore();
  await page.locator('[data-testid="feed-state"][data-state="live"]').waitFor({ timeout: 15_000 });
  // It read on from its cursor, not again from a time: only the first read of the page starts from `sinceMs`.
  expect(feedReads.slice(readsBeforeRestore).length).toBeGreaterThan(0);
  expect(feedReads.slice(readsBeforeRestore).every((url) => url.includes('after='))).toBe(true);
  expect(feedReads.filter((url) => url.includes('sinceMs=')).length).toBe(1);
  // No gap: every transition the event feed holds for this scenario is in the console.
  const feed = (await (await fetch(`${b.url}/v1/events?limit=1000`, { headers: operatorHeaders() })).json()) as { items: Array<{ event: PresenceEvent }> };
  const expected = feed.items.map(({ event }) => `${event.streamerId}/${event.version}`).sort();
  expect(expected.length).toBeGreaterThanOrEqual(10);
  await waitUntil(async () => (await rowCount('[data-testid="events"] tr')) >= expected.length, 10_000, 100);
  const shown = (await page.locator('[data-testid="events"] tr').evaluateAll((rows) => rows.map((row) => `${row.getAttribute('data-streamer')}/${row.getAttribute('data-version')}`))).sort();
  expect(shown).toEqual(expected);
  await shot('after-cut');

  // One streamer in detail: its connections on their pods and its audience.
  await page.click('[data-testid="events"] tr[data-streamer="scene-alice"]');
  await page.locator('[data-testid="detail"]').waitFor({ state: 'visible' });
  await waitUntil(async () => (await page.locator('[data-testid="detail-occupancy"]').textContent()) === '2', 10_000, 200);
  expect(await page.locator('[data-testid="connections"] tr[data-state="open"] td').first().textContent()).toBe('console-a');
  await page.locator('[data-testid="timeline-entry"][data-reason="connected"]').waitFor();
  // Its webhook, delivered to the receiver (the page refreshes the detail every 5 s).
  await page.locator('[data-testid="webhooks"] li[data-reason="connected"][data-status="delivered"]').waitFor({ timeout: 10_000 });
  await shot('streamer');
  expect(problems).toEqual([]);

  for (const { socket, stop } of [...streamers, paused, ...during]) {
    stop();
    socket.close();
  }
  for (const viewer of viewers) viewer.socket.close();
}, 120_000);
