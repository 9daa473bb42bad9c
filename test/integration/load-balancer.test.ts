// Behind nginx, whose proxy_read_timeout cuts any upgraded connection idle for that long: the Socket.IO
// ping derived from LB_IDLE_TIMEOUT_MS (and the heartbeats) keep streamer and viewer connections alive
// through many timeouts. A control run with pings and heartbeats slower than nginx's timeout shows the
// cut is real, so the first test could fail.
import type { Socket } from 'socket.io-client';
import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { EventRecorder } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import { startNginx } from '../helpers/nginx.js';
import { streamer, watch, type Watcher } from '../helpers/presence-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';

const NGINX_READ_TIMEOUT_MS = 1_500;
const HEARTBEAT_MS = 1_000;
const TIMING = {
  HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS),
  LB_IDLE_TIMEOUT_MS: String(NGINX_READ_TIMEOUT_MS),
  PRESENCE_TTL_MS: '2500',
  // Short, so a connection the LB cut would also surface as an offline inside the test.
  RECONNECT_GRACE_MS: '1000',
};
/** Ten of nginx's timeouts, and a little more. */
const SURVIVE_MS = 10 * NGINX_READ_TIMEOUT_MS + 1_000;

useCleanup();

async function untilReady(app: AppProcess): Promise<void> {
  await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
}

/** Records `disconnect` (the reason is its payload) from now on. */
const disconnects = (socket: Socket): EventRecorder<string> => new EventRecorder<string>(socket, 'disconnect');

test('two pods behind nginx: streamer and viewers live through ten proxy timeouts, no disconnect, no offline', async () => {
  const redis = await startRedis();
  const env = { ...TIMING, REDIS_KEY_PREFIX: `load-balancer-${process.pid}:` };
  const pods = await Promise.all([0, 1].map(() => startApp({ env, redisUrl: redis.url })));
  await Promise.all(pods.map(untilReady));
  const nginx = await startNginx({ upstreamPorts: pods.map((p) => p.port), proxyReadTimeoutMs: NGINX_READ_TIMEOUT_MS });

  const id = 'lb-survivor';
  // nginx balances round-robin, so the viewers and the streamer are spread over both pods.
  const viewers: Watcher[] = [await watch(nginx.url, [id]), await watch(nginx.url, [id])];
  const socket = await streamer(nginx.url, id);
  const cuts = [...viewers.map((v) => disconnects(v.socket)), disconnects(socket)];
  const acks: unknown[] = [];
  const beat = setInterval(() => {
    // A generous ack timeout: what is tested is that nginx never cuts the socket, not how fast a busy
    // machine answers.
    socket
      .timeout(5_000)
      .emitWithAck('heartbeat')
      .then(
        (ack: unknown) => acks.push(ack),
        (err: Error) => acks.push({ noAck: err.message }),
      );
  }, HEARTBEAT_MS);

  await sleep(SURVIVE_MS);
  clearInterval(beat);

  // The load balancer first: not one socket was cut, and every heartbeat was answered.
  expect(cuts.map((c) => c.payloads())).toEqual([[], [], []]);
  expect([...viewers.map((v) => v.socket.connected), socket.connected]).toEqual([true, true, true]);
  expect(acks.length).toBeGreaterThanOrEqual(SURVIVE_MS / HEARTBEAT_MS - 2);
  expect(acks.filter((ack) => (ack as { ok?: boolean }).ok !== true)).toEqual([]);
  // Then what viewers saw: exactly one online each, never an offline.
  for (const viewer of viewers) {
    expect(viewer.events.payloads().map((e: PresenceEvent) => `${e.status}:${e.reason}`)).toEqual(['online:connected']);
  }
  expect(nginx.errorLog()).not.toMatch(/upstream timed out/);
  socket.close();
}, 45_000);

test('control: pings and heartbeats slower than nginx timeout, so nginx cuts both sockets within seconds', async () => {
  // Valid for the app (its LB timeout says 20 s, so pings come every ~8 s), but nginx cuts at 1.5 s.
  const app = await startApp({
    env: { HEARTBEAT_INTERVAL_MS: '10000', PRESENCE_TTL_MS: '25000', LB_IDLE_TIMEOUT_MS: '20000' },
  });
  const nginx = await startNginx({ upstreamPorts: [app.port], proxyReadTimeoutMs: NGINX_READ_TIMEOUT_MS });

  const viewer = await watch(nginx.url, ['lb-control']);
  const viewerConnectedAt = Date.now();
  const viewerCut = disconnects(viewer.socket);
  // The streamer sends no heartbeat at all; only the server's `session` crosses after the handshake.
  const socket = await streamer(nginx.url, 'lb-control');
  const streamerConnectedAt = Date.now();
  const streamerCut = disconnects(socket);

  const [v, s] = await Promise.all([viewerCut.waitFor(() => true, 6_000), streamerCut.waitFor(() => true, 6_000)]);
  expect(v.at - viewerConnectedAt).toBeGreaterThanOrEqual(NGINX_READ_TIMEOUT_MS - 300);
  expect(v.at - viewerConnectedAt).toBeLessThan(5_000);
  expect(s.at - streamerConnectedAt).toBeGreaterThanOrEqual(NGINX_READ_TIMEOUT_MS - 300);
  expect(s.at - streamerConnectedAt).toBeLessThan(5_000);
  expect(nginx.errorLog()).toMatch(/upstream timed out/);
}, 30_000);
