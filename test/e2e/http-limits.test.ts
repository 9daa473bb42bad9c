// Node's HTTP server limits, as an anonymous client meets them: a TCP connection that never completes a
// request is cut in seconds (silent, or dribbling its headers), while real requests, long polls and
// WebSockets are not; nothing names the stack; store errors say nothing of the store's internals.
import { connect as tcpConnect, type Socket as TcpSocket } from 'node:net';
import { type AppProcess, startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { FAST_TIMING, streamer } from '../helpers/presence-clients.js';
import { sleep } from '../helpers/timing.js';
import { operatorHeaders } from '../helpers/tokens.js';

useCleanup();

const FIRST_REQUEST_MS = 1_000;
let app: AppProcess;
beforeAll(async () => {
  app = await startApp({ env: { ...FAST_TIMING, HTTP_FIRST_REQUEST_TIMEOUT_MS: String(FIRST_REQUEST_MS) } });
});

/** Opens a TCP connection and resolves, once the server closes it, with how long it stayed open. */
function openTcp(port: number, behave: (socket: TcpSocket) => void = () => {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    const openedAt = Date.now();
    socket.on('connect', () => behave(socket));
    socket.on('close', () => resolve(Date.now() - openedAt));
    socket.on('error', () => undefined);
    setTimeout(() => {
      socket.destroy();
      reject(new Error('the server kept the connection open for 10 s'));
    }, 10_000);
  });
}

test('a connection that sends nothing is closed once its first request is overdue', async () => {
  const lived = await openTcp(app.port);
  expect(lived).toBeGreaterThanOrEqual(FIRST_REQUEST_MS - 50);
  expect(lived).toBeLessThan(FIRST_REQUEST_MS + 2_000);
});

test('a connection that dribbles its headers is closed as well', async () => {
  let timer: NodeJS.Timeout | undefined;
  const lived = await openTcp(app.port, (socket) => {
    socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    timer = setInterval(() => socket.write('X-Slow: 1\r\n'), 200);
  });
  clearInterval(timer);
  expect(lived).toBeLessThan(FIRST_REQUEST_MS + 2_000);
});

test('requests, a long poll longer than the limit, and a WebSocket are not cut', async () => {
  const health = await fetch(`${app.url}/healthz`);
  expect(health.status).toBe(200);
  expect(health.headers.get('x-powered-by')).toBeNull();
  const { nextCursor } = (await (await fetch(`${app.url}/v1/events?limit=1000`, { headers: operatorHeaders() })).json()) as { nextCursor: string };
  const started = Date.now();
  const poll = await fetch(`${app.url}/v1/events?waitMs=${3 * FIRST_REQUEST_MS}&after=${encodeURIComponent(nextCursor)}`, { headers: operatorHeaders() });
  expect(poll.status).toBe(200);
  expect(Date.now() - started).toBeGreaterThanOrEqual(3 * FIRST_REQUEST_MS - 100);
  const socket = await streamer(app.url, 'limits-ws');
  await sleep(3 * FIRST_REQUEST_MS);
  expect(socket.connected).toBe(true);
  expect(await socket.timeout(5_000).emitWithAck('heartbeat')).toMatchObject({ ok: true });
  socket.close();
});
