import { operatorHeaders } from '../helpers/tokens.js';
import { startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, streamer, TTL_MS, watch } from '../helpers/presence-clients.js';
import { startRedis } from '../helpers/redis-server.js';

useCleanup();

test('the timeline of a streamer whose pod was killed shows the timeout and which pod swept it', async () => {
  const redis = await startRedis();
  const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: 'timeline-crash:' };
  const doomed = await startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: 'pod-doomed' } });
  const survivors = await Promise.all(
    ['pod-left', 'pod-right'].map((name) => startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: name } })),
  );
  const viewer = await watch(survivors[0]!.url, ['crash-victim']);
  const socket = await streamer(doomed.url, 'crash-victim');
  await viewer.events.waitFor((event) => event.reason === 'connected');
  await socket.timeout(5_000).emitWithAck('heartbeat');

  await doomed.kill9();
  const offline = await viewer.events.waitFor((event) => event.reason === 'timeout', TTL_MS + 5_000);

  const res = await fetch(`${survivors[1]!.url}/v1/streamers/crash-victim/timeline`, { headers: operatorHeaders() });
  expect(res.status).toBe(200);
  const { items } = (await res.json()) as { items: Array<{ reason: string; status: string; pod: string; version: number; since: number }> };
  expect(items.map((item) => item.reason)).toEqual(['timeout', 'connected']);
  // The connect was decided by the pod the streamer was on; the timeout by a surviving pod's sweeper.
  expect(items[1]!.pod).toBe('pod-doomed');
  expect(['pod-left', 'pod-right']).toContain(items[0]!.pod);
  expect(items[0]).toMatchObject({ status: 'offline', version: offline.payload.version, since: offline.payload.since });
});
