// The webhook sender against real HTTP servers on loopback: what counts as acknowledged, the 10 s
// deadline (scaled down here), redirects not followed, and connections kept alive between attempts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { HttpWebhookSender } from '../../src/webhooks/webhook-sender.js';
import { webhookMessage } from '../../src/webhooks/webhook-message.js';
import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';
import { useCleanup, registerCleanup } from '../helpers/cleanup.js';
import { sleep } from '../helpers/timing.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

useCleanup();

const event: PresenceEvent = { streamerId: 's-1', status: 'online', reason: 'connected', since: 1_700_000_000_000, version: 1_700_000_000_000_000 };
const message = webhookMessage(event, event.since);
const keyOf = (secret: string) => Buffer.from(secret.slice('whsec_'.length), 'base64');
const KEY = Buffer.alloc(32, 7);

interface TestServer {
  readonly url: string;
  readonly requests: string[];
  readonly sockets: Set<Socket>;
}

/** An HTTP server on a free loopback port answering with `handle`; it notes each request's path and every connection. */
async function serve(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<TestServer> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    requests.push(request.url ?? '');
    request.resume();
    handle(request, response);
  });
  server.on('connection', (socket) => sockets.add(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registerCleanup(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, requests, sockets };
}

test('a 2xx answer acknowledges the attempt, and the receiver verifies it with the standardwebhooks package', async () => {
  const receiver = await startWebhookReceiver();
  const sender = new HttpWebhookSender(receiver.url, keyOf(receiver.secret));
  expect(await sender.send(message, Date.now())).toBe(true);
  expect(receiver.deliveries).toHaveLength(1);
  expect(receiver.deliveries[0]!.id).toBe('s-1:1700000000000000');
  expect(receiver.deliveries[0]!.body).toEqual({ type: 'presence.online', timestamp: new Date(event.since).toISOString(), data: event });
});

test('a bad signature (another key) is refused by the receiver, and the attempt is not acknowledged', async () => {
  const receiver = await startWebhookReceiver();
  const sender = new HttpWebhookSender(receiver.url, KEY);
  expect(await sender.send(message, Date.now())).toBe(false);
  expect(receiver.deliveries.map((d) => d.status)).toEqual([400]);
});

test('5xx, 4xx and 3xx are not acknowledgements, and a redirect is not followed', async () => {
  for (const status of [500, 404, 302]) {
    const server = await serve((_request, response) => response.writeHead(status, { location: '/elsewhere' }).end());
    const sender = new HttpWebhookSender(server.url, KEY);
    expect(await sender.send(message, Date.now())).toBe(false);
    expect(server.requests).toEqual(['/hooks']);
  }
});

test('a receiver that takes the request and never answers: not acknowledged, once the deadline has passed', async () => {
  const server = await serve(() => undefined);
  const sender = new HttpWebhookSender(server.url, KEY, 300);
  const started = Date.now();
  expect(await sender.send(message, Date.now())).toBe(false);
  expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  expect(Date.now() - started).toBeLessThan(5_000);
});

test('a receiver that sends its headers and dribbles the body past the deadline: not acknowledged', async () => {
  const server = await serve((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    const dribble = setInterval(() => response.write('.'), 50);
    response.on('close', () => clearInterval(dribble));
  });
  const sender = new HttpWebhookSender(server.url, KEY, 300);
  expect(await sender.send(message, Date.now())).toBe(false);
});

test('nothing listening: not acknowledged, without throwing', async () => {
  // A port that was free a moment ago and is closed now.
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const sender = new HttpWebhookSender(`http://127.0.0.1:${port}/hooks`, KEY, 1_000);
  expect(await sender.send(message, Date.now())).toBe(false);
});

test('attempts one after another reuse one kept-alive connection', async () => {
  const server = await serve((_request, response) => response.writeHead(204).end());
  const sender = new HttpWebhookSender(server.url, KEY);
  for (let i = 0; i < 20; i += 1) expect(await sender.send(message, Date.now())).toBe(true);
  expect(server.requests).toHaveLength(20);
  expect(server.sockets.size).toBe(1);
});

test('a receiver that closes the connection after each answer: the next attempt opens another and goes through', async () => {
  const server = await serve((_request, response) => response.writeHead(200, { connection: 'close' }).end('ok'));
  const sender = new HttpWebhookSender(server.url, KEY);
  expect(await sender.send(message, Date.now())).toBe(true);
  expect(await sender.send(message, Date.now())).toBe(true);
  expect(server.sockets.size).toBe(2);
});

test("the receiver's Keep-Alive timeout is kept: a connection idle past it is not reused", async () => {
  // Node keeps a socket for the hint less a second: 1 s here.
  const server = await serve((_request, response) => response.writeHead(200, { 'keep-alive': 'timeout=2' }).end('ok'));
  const sender = new HttpWebhookSender(server.url, KEY);
  expect(await sender.send(message, Date.now())).toBe(true);
  expect(await sender.send(message, Date.now())).toBe(true);
  expect(server.sockets.size).toBe(1);
  await sleep(1_300);
  expect(await sender.send(message, Date.now())).toBe(true);
  expect(server.sockets.size).toBe(2);
});

test('a kept-alive connection the receiver resets as the next attempt arrives: that attempt goes through on a new one', async () => {
  // Raw HTTP/1.1: each connection answers its first request 200 (kept alive, no hint) and is reset when
  // a second comes, as a receiver closing an idle connection at that moment would.
  let connections = 0;
  let requests = 0;
  const server = createTcpServer((socket) => {
    connections += 1;
    let answered = false;
    let received = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (answered) {
        requests += 1;
        socket.resetAndDestroy();
        return;
      }
      received += chunk.toString('latin1');
      const headerEnd = received.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(received)?.[1] ?? NaN);
      if (headerEnd === -1 || received.length < headerEnd + 4 + length) return;
      requests += 1;
      answered = true;
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registerCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const sender = new HttpWebhookSender(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, KEY);
  expect(await sender.send(message, Date.now())).toBe(true);
  expect(await sender.send(message, Date.now())).toBe(true);
  expect({ connections, requests }).toEqual({ connections: 2, requests: 3 });
});
