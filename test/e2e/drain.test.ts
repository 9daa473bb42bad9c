import { io } from 'socket.io-client';
import { startApp } from '../helpers/app-process.js';
import { connectViewer } from '../helpers/clients.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, streamer } from '../helpers/presence-clients.js';
import { waitUntil } from '../helpers/timing.js';

useCleanup();

test('SIGTERM: readiness fails at once, new connections are refused, sockets close at the transport over DRAIN_MS, exit 0', async () => {
  const drainMs = 1_500;
  const app = await startApp({ env: { ...FAST_TIMING, DRAIN_MS: String(drainMs) } });
  const viewers = await Promise.all(Array.from({ length: 20 }, () => connectViewer(app.url)));
  const streamers = await Promise.all(Array.from({ length: 5 }, (_, i) => streamer(app.url, `drain-${i}`)));
  const sockets = [...viewers, ...streamers];
  const reasons: string[] = [];
  const closedAt: number[] = [];
  for (const socket of sockets) {
    socket.on('disconnect', (reason) => {
      reasons.push(reason);
      closedAt.push(Date.now());
    });
  }

  const signalledAt = Date.now();
  const exited = app.stop('SIGTERM', drainMs + 10_000);
  await waitUntil(async () => (await fetch(`${app.url}/readyz`)).status === 503, 1_000, 20);

  // While draining, a new handshake is refused.
  const late = io(`${app.url}/viewer`, { transports: ['websocket'], reconnection: false, forceNew: true });
  const lateError = await new Promise<Error>((resolve) => late.on('connect_error', resolve));
  expect(lateError).toBeInstanceOf(Error);
  late.close();

  expect(await exited).toBe(0);
  expect(reasons).toHaveLength(sockets.length);
  // "transport close" is what a stock client reconnects after; "io server disconnect" would stop it.
  expect(new Set(reasons)).toEqual(new Set(['transport close']));
  // Spread over the drain window, not all at once.
  expect(Math.max(...closedAt) - Math.min(...closedAt)).toBeGreaterThanOrEqual(drainMs / 2);
  expect(Math.max(...closedAt) - signalledAt).toBeLessThan(drainMs + 5_000);
});
