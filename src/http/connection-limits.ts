import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AddressRateLimiter } from './address-limiter.js';
import { clientAddress } from './client-address.js';

/** Node's HTTP server limits, set on purpose rather than left at defaults made for other servers. */
export interface HttpLimits {
  /** A TCP connection that has not sent a complete request (or WebSocket upgrade) by then is closed. */
  readonly firstRequestTimeoutMs: number;
  /** Open TCP connections at most; more are refused by the kernel accept path (Node closes them). */
  readonly maxConnections: number;
}

/**
 * Applies the limits to the HTTP server before it listens:
 * - a connection must complete its first request (headers and all) within `firstRequestTimeoutMs`:
 *   idle sockets and dribbled headers are cut in seconds. Node's own `headersTimeout` is enforced only
 *   every 30 s (`connectionsCheckingInterval`, fixed when the server is made), so it cannot do this alone;
 * - `headersTimeout` and `requestTimeout` bound later requests on a kept-alive connection;
 * - `keepAliveTimeout` closes an idle kept-alive connection after 5 s (clients and proxies reconnect);
 * - `maxConnections` caps what one pod holds.
 * Long polls (`/v1/events?waitMs=`, Socket.IO polling) are not affected: they have sent their request.
 */
export function applyHttpLimits(server: Server, limits: HttpLimits): void {
  server.headersTimeout = Math.max(limits.firstRequestTimeoutMs, 1_000);
  server.requestTimeout = Math.max(limits.firstRequestTimeoutMs * 2, 2_000);
  server.keepAliveTimeout = 5_000;
  server.maxConnections = limits.maxConnections;
  const waiting = new Map<Socket, NodeJS.Timeout>();
  // The close listener goes with the timer: a long-lived connection (a WebSocket) keeps neither.
  const started = (socket: Socket): void => {
    const timer = waiting.get(socket);
    if (timer === undefined) return;
    clearTimeout(timer);
    waiting.delete(socket);
    socket.removeListener('close', closedFirst);
  };
  // One function for every socket (`this`), not a closure each.
  function closedFirst(this: Socket): void {
    started(this);
  }
  server.on('connection', (socket: Socket) => {
    waiting.set(socket, setTimeout(() => socket.destroy(), limits.firstRequestTimeoutMs).unref());
    socket.on('close', closedFirst);
  });
  // Both fire once the request's headers are complete.
  server.prependListener('request', (request) => started(request.socket as Socket));
  server.prependListener('upgrade', (request) => started(request.socket as Socket));
}

/**
 * HTTP requests past `ratePerSecond` per client address get 429 with `Retry-After`. Counted by default,
 * so no spelling of a path gets around it (Express matches `/V1/…` as `/v1/…`): only the probes and
 * metrics, which the kubelet and Prometheus must always get through and which come from few addresses,
 * and Socket.IO's own requests, which the handshake gate and the message budgets limit, are exempt.
 */
export function limitApiRate(ratePerSecond: number, trustedHops: number) {
  const limiter = new AddressRateLimiter(ratePerSecond);
  return (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    if (isExempt(request.url ?? '/') || limiter.allow(clientAddress(request, trustedHops), Date.now())) return next();
    const body = JSON.stringify({ error: { code: 'rate_limited', message: `over ${ratePerSecond} requests per second from this address` } });
    response.writeHead(429, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Retry-After': '1' });
    response.end(body);
  };
}

const EXEMPT_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

function isExempt(url: string): boolean {
  // engine.io serves only this exact spelling; the probes are matched as Express would.
  if (url.startsWith('/socket.io/')) return true;
  const path = url.split('?', 1)[0]!.toLowerCase().replace(/\/+$/, '');
  return EXEMPT_PATHS.has(path);
}
