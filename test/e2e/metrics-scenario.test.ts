import { readdirSync } from 'node:fs';
import { startApp } from '../helpers/app-process.js';
import { connectError, connectViewer } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, GRACE_MS, streamer, watch } from '../helpers/presence-clients.js';
import { parsePrometheus, valueOf } from '../helpers/prometheus.js';
import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';

useCleanup();

test('/metrics after a scripted scenario shows exactly the counts the scenario produced', async () => {
  // A TTL far beyond the scenario's length: the counts must not depend on how fast a busy machine runs
  // it (a silent streamer timing out would add a `timeout`), and heartbeats are counted, so none extra.
  const app = await startApp({ env: { ...FAST_TIMING, PRESENCE_TTL_MS: '30000', POD_NAME: 'pod-metrics' } });
  const viewer = await watch(app.url, ['m-alice', 'm-bob']);
  const is = (reason: string) => (event: PresenceEvent) => event.reason === reason;

  // Two streamers come online; alice heartbeats 3 times, once with a new meta, then ends; bob closes.
  const alice = await streamer(app.url, 'm-alice');
  const bob = await streamer(app.url, 'm-bob');
  await viewer.events.waitFor(is('connected'));
  await viewer.events.waitFor((e) => e.reason === 'connected' && e.streamerId === 'm-bob');
  await alice.timeout(5_000).emitWithAck('heartbeat');
  await alice.timeout(5_000).emitWithAck('heartbeat', { meta: { title: 'x' } });
  await alice.timeout(5_000).emitWithAck('heartbeat');
  await viewer.events.waitFor(is('meta'));
  // One malformed message and one refused handshake.
  await alice.timeout(5_000).emitWithAck('heartbeat', { bogus: true });
  expect(await connectError(app.url, '/streamer', { token: 'nope' })).toBe('unauthorized');
  await alice.timeout(5_000).emitWithAck('end');
  await viewer.events.waitFor(is('ended'));
  bob.close();
  await viewer.events.waitFor(is('disconnected'), GRACE_MS + 5_000);
  alice.close();

  const res = await fetch(`${app.url}/metrics`);
  const samples = parsePrometheus(await res.text());
  const pod = { pod: 'pod-metrics' };
  expect(valueOf(samples, 'presence_heartbeats_total', pod)).toBe(3);
  expect(valueOf(samples, 'presence_events_total', { ...pod, reason: 'connected' })).toBe(2);
  expect(valueOf(samples, 'presence_events_total', { ...pod, reason: 'meta' })).toBe(1);
  expect(valueOf(samples, 'presence_events_total', { ...pod, reason: 'ended' })).toBe(1);
  expect(valueOf(samples, 'presence_events_total', { ...pod, reason: 'disconnected' })).toBe(1);
  expect(valueOf(samples, 'presence_events_total', { ...pod, reason: 'timeout' })).toBe(0);
  expect(valueOf(samples, 'presence_refusals_total', { ...pod, code: 'invalid_payload' })).toBe(1);
  expect(valueOf(samples, 'presence_refusals_total', { ...pod, code: 'unauthorized' })).toBe(1);
  expect(valueOf(samples, 'presence_online_streamers', pod)).toBe(0);
  expect(valueOf(samples, 'presence_connections', { ...pod, namespace: '/viewer' })).toBe(1);
  // The viewer received 5 events; each was one delivery, and one offline-lag observation per disconnect.
  expect(viewer.events.count).toBe(5);
  expect(valueOf(samples, 'presence_event_deliveries_total', pod)).toBe(5);
  expect(valueOf(samples, 'presence_fanout_latency_seconds_count', pod)).toBe(5);
  expect(valueOf(samples, 'presence_offline_lag_seconds_count', pod)).toBe(1);
  expect(valueOf(samples, 'presence_offline_lag_seconds_bucket', { ...pod, le: '1' })).toBe(1);
});

test('/metrics counts the pod\'s open descriptors and active handles as prom-client does, each connection among them', async () => {
  const app = await startApp({ env: { ...FAST_TIMING, POD_NAME: 'pod-handles' } });
  const read = async () => parsePrometheus(await (await fetch(`${app.url}/metrics`)).text());
  const descriptors = () => readdirSync(`/proc/${app.pid}/fd`).length;
  const before = await read();
  const viewers = await Promise.all(Array.from({ length: 30 }, () => connectViewer(app.url)));
  await read();
  // The pod's own count (one `stat`) against the directory listed from here, just before and after
  // the scrape (whose HTTP connection opens meanwhile, if it is not the one kept from before).
  const listedBefore = descriptors();
  const during = await read();
  const listedAfter = descriptors();
  expect([listedBefore, listedAfter]).toContain(valueOf(during, 'process_open_fds'));
  expect(valueOf(during, 'process_open_fds') - valueOf(before, 'process_open_fds')).toBeGreaterThanOrEqual(30);
  const total = valueOf(during, 'nodejs_active_handles_total');
  const byType = during.filter((sample) => sample.name === 'nodejs_active_handles');
  expect(byType.reduce((sum, sample) => sum + sample.value, 0)).toBe(total);
  expect(total - valueOf(before, 'nodejs_active_handles_total')).toBeGreaterThanOrEqual(30);
  expect(valueOf(during, 'nodejs_active_handles', { type: 'Socket' }) - valueOf(before, 'nodejs_active_handles', { type: 'Socket' })).toBeGreaterThanOrEqual(30);
  for (const viewer of viewers) viewer.close();
});
