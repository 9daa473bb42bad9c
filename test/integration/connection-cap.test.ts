// At most 10 open connections per streamer id, cluster-wide: the 11th is refused at the handshake with
// `connect_error` "too_many_connections" on whichever pod it reaches, and a place freed by a close is
// taken again. One stolen token cannot make every Lua call work through thousands of leases.
import type { Socket } from 'socket.io-client';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { connectError } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, keepBeating, streamer } from '../helpers/presence-clients.js';
import { startRedis } from '../helpers/redis-server.js';
import { waitUntil } from '../helpers/timing.js';
import { signToken } from '../helpers/tokens.js';

useCleanup();

let pods: AppProcess[];
beforeAll(async () => {
  const redis = await startRedis();
  const env = { ...FAST_TIMING, REDIS_KEY_PREFIX: `cap-${process.pid}:` };
  pods = await Promise.all(['cap-a', 'cap-b'].map((name) => startApp({ redisUrl: redis.url, env: { ...env, POD_NAME: name } })));
  for (const app of pods) await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 200, 10_000, 50);
}, 60_000);

test('10 connections of one streamer over two pods; the 11th is refused on either; a close frees a place', async () => {
  const sockets: Socket[] = [];
  const stops: Array<() => void> = [];
  for (let i = 0; i < 10; i += 1) {
    const socket = await streamer(pods[i % 2]!.url, 'capped');
    sockets.push(socket);
    stops.push(keepBeating(socket));
  }
  const auth = { token: signToken({ sub: 'capped', role: 'streamer' }) };
  for (const app of pods) expect(await connectError(app.url, '/streamer', auth)).toBe('too_many_connections');
  // Another streamer is not affected.
  (await streamer(pods[0]!.url, 'not-capped')).close();

  stops[0]!();
  sockets[0]!.close();
  // The close reaches the store through its pod; then the place is free.
  await waitUntil(async () => {
    try {
      const socket = await streamer(pods[1]!.url, 'capped');
      sockets.push(socket);
      stops.push(keepBeating(socket));
      return true;
    } catch {
      return false;
    }
  }, 5_000, 100);
  expect(await connectError(pods[0]!.url, '/streamer', auth)).toBe('too_many_connections');
  for (const stop of stops) stop();
  for (const socket of sockets) socket.close();
});
