// At most 10 open connections per streamer id, cluster-wide: the 11th is refused at the handshake with
// `connect_error` "too_many_connections" on whichever pod it reaches, and a place freed by a close is
// taken again. One stolen token cannot make every Lua call work through thousands of leases. Sockets that
// hold no lease (ended, or silent) still count while they are open, on whatever pod.
import type { Socket } from 'socket.io-client';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { connectError } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, TTL_MS, keepBeating, streamer } from '../helpers/presence-clients.js';
import { type RedisServer, startRedis } from '../helpers/redis-server.js';
import { sleep, waitUntil } from '../helpers/timing.js';
import { signToken } from '../helpers/tokens.js';

useCleanup();

let pods: AppProcess[];
let redisUrl: string;
let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
  redisUrl = redis.url;
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

test("sockets whose streamer sent `end`, or that went silent, stay open and keep their places on every pod, until they close or their pod dies", async () => {
  const [a, b] = pods as [AppProcess, AppProcess];
  const quietPod = await startApp({ redisUrl, env: { ...FAST_TIMING, REDIS_KEY_PREFIX: `cap-${process.pid}:`, POD_NAME: 'cap-quiet' } });
  await waitUntil(async () => (await fetch(`${quietPod.url}/readyz`)).status === 200, 10_000, 50);
  // Five on pod A that end their stream, five on a third pod that go silent: all ten stay open.
  const ended: Socket[] = [];
  for (let i = 0; i < 5; i += 1) ended.push(await streamer(a.url, 'parked'));
  const silent: Socket[] = [];
  for (let i = 0; i < 5; i += 1) silent.push(await streamer(quietPod.url, 'parked'));
  expect(await ended[0]!.timeout(5_000).emitWithAck('end')).toEqual({ ok: true });
  const auth = { token: signToken({ sub: 'parked', role: 'streamer' }) };
  // Well past the TTL (1.2 s) of the silent ones and of the parked places their pods renew: still ten.
  for (let round = 0; round < 3; round += 1) {
    await sleep(TTL_MS);
    expect(await connectError(b.url, '/streamer', auth)).toBe('too_many_connections');
  }
  expect([...ended, ...silent].every((socket) => socket.connected)).toBe(true);
  // A close frees its place, wherever the next one connects.
  ended[1]!.close();
  const taken: Socket[] = [];
  await waitUntil(async () => {
    try {
      taken.push(await streamer(b.url, 'parked'));
      return true;
    } catch {
      return false;
    }
  }, 5_000, 100);
  expect(await connectError(b.url, '/streamer', auth)).toBe('too_many_connections');
  // A pod that dies keeps no place: its five are free once their parked places run out (a TTL).
  await quietPod.stop('SIGKILL');
  const killedAt = Date.now();
  await waitUntil(async () => {
    try {
      taken.push(await streamer(b.url, 'parked'));
      return taken.length === 6;
    } catch {
      return false;
    }
  }, 10_000, 100);
  expect(Date.now() - killedAt).toBeLessThan(3 * TTL_MS + 2_000);
  expect(await connectError(b.url, '/streamer', auth)).toBe('too_many_connections');
  for (const socket of [...ended, ...silent, ...taken]) socket.close();
});

test('a parked socket whose place the store lost, and which others took meanwhile, is closed: its reconnect meets too_many_connections', async () => {
  const [a, b] = pods as [AppProcess, AppProcess];
  const ended = await streamer(a.url, 'lost-place', { reconnection: true, reconnectionDelay: 100 });
  expect(await ended.timeout(5_000).emitWithAck('end')).toEqual({ ok: true });
  const closed = new Promise<string>((resolve) => ended.on('disconnect', resolve));
  const refused = new Promise<Error>((resolve) => ended.on('connect_error', resolve));
  // Pod A holds still while the store loses the streamer's record and ten connections take every place.
  process.kill(a.pid, 'SIGSTOP');
  const taken: Socket[] = [];
  try {
    const keys = (await redis.cli('--scan', '--pattern', `cap-${process.pid}:*:lost-place`)).split('\n').filter(Boolean);
    expect(keys.length).toBeGreaterThan(0);
    await redis.cli('DEL', ...keys);

    for (let i = 0; i < 10; i += 1) taken.push(await streamer(b.url, 'lost-place'));
  } finally {
    process.kill(a.pid, 'SIGCONT');
  }
  // Its pod, keeping the place, is refused: it closes the socket at the transport, and the client's
  // reconnect is refused where the contract names it.
  expect(await Promise.race([closed, sleep(5_000).then(() => 'still open after 5 s')])).toBe('transport close');
  expect((await refused).message).toBe('too_many_connections');
  ended.close();
  for (const socket of taken) socket.close();
});
