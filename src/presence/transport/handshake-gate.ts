import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** How long a client refused by a draining pod is told to wait: none, through the load balancer, which sends it to another pod. */
export const DRAINING_RETRY_AFTER_S = 1;

/** Why a new Socket.IO handshake is refused, as the HTTP answer it gets. */
export interface HandshakeRefusal {
  readonly status: 403 | 429 | 503;
  /** engine.io's error body (`{ code, message }`): code 4 is its "Forbidden", and the message says why. */
  readonly message: 'origin not allowed' | 'draining' | 'rate_limited' | 'too_many_connections';
  readonly headers: Readonly<Record<string, string>>;
}

export const ORIGIN_REFUSED: HandshakeRefusal = { status: 403, message: 'origin not allowed', headers: {} };
/**
 * 503 with Retry-After, never a 4xx: load balancers retry another upstream on 502/503 by convention
 * (nginx's `proxy_next_upstream http_503`), so a handshake that reaches a draining pod lands on a live
 * one before the client ever sees it. A 403 would go back to the client, which backs off and may miss
 * its reconnect grace.
 */
export const DRAINING: HandshakeRefusal = { status: 503, message: 'draining', headers: { 'Retry-After': String(DRAINING_RETRY_AFTER_S) } };
/** Too many new handshakes from one client address (HANDSHAKE_RATE_PER_ADDRESS). */
export const HANDSHAKE_RATE_LIMITED: HandshakeRefusal = { status: 429, message: 'rate_limited', headers: { 'Retry-After': '1' } };
/** One client address already holds CONNECTIONS_PER_ADDRESS open connections on this pod. */
export const ADDRESS_CONNECTIONS_FULL: HandshakeRefusal = { status: 429, message: 'too_many_connections', headers: { 'Retry-After': '5' } };

/**
 * What a request to the engine.io path is: a `handshake` opening a session (a GET without `sid`;
 * engine.io refuses any other method for one), a request of a `session` engine.io holds, a `stray` one
 * naming a session it does not hold (cheap to answer, but an address could send them without end), or
 * none of these (a CORS preflight, another path).
 */
export function engineRequestKind(request: IncomingMessage, enginePath: string, holdsSession: (sid: string) => boolean): 'handshake' | 'session' | 'stray' | null {
  const url = request.url ?? '';
  if (!url.startsWith(enginePath) || request.method === 'OPTIONS') return null;
  const query = url.indexOf('?');
  const sid = query === -1 ? null : new URLSearchParams(url.slice(query + 1)).get('sid');
  if (sid === null) return request.method === 'GET' ? 'handshake' : null;
  return holdsSession(sid) ? 'session' : 'stray';
}

function body(refusal: HandshakeRefusal): string {
  return JSON.stringify({ code: 4, message: refusal.message });
}

/**
 * Answers refused handshakes, on both transports, before engine.io sees them: engine.io's own refusal
 * (`allowRequest`) is always a 403 for polling and a 400 for a direct WebSocket upgrade. Requests that
 * continue a session (polling with a `sid`, the upgrade of a polling session) are never refused here,
 * so a draining pod's sockets keep working until the drain closes them. Stray requests (an unknown
 * `sid`) go to `refuse` too, as `'stray'`, to be counted against the address's handshake rate.
 *
 * Installed after engine.io attached to `http`: its `request` listener is wrapped (engine.io replaced
 * every earlier one with its own), its `upgrade` listener is preceded by ours.
 */
export function installHandshakeGate(
  http: HttpServer,
  enginePath: string,
  holdsSession: (sid: string) => boolean,
  refuse: (request: IncomingMessage, kind: 'handshake' | 'stray') => HandshakeRefusal | null,
): void {
  const path = enginePath.endsWith('/') ? enginePath : `${enginePath}/`;
  const refusalOf = (request: IncomingMessage): HandshakeRefusal | null => {
    const kind = engineRequestKind(request, path, holdsSession);
    return kind === 'handshake' || kind === 'stray' ? refuse(request, kind) : null;
  };
  const listeners = http.listeners('request') as Array<(request: IncomingMessage, response: ServerResponse) => void>;
  http.removeAllListeners('request');
  http.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const refusal = refusalOf(request);
    if (refusal !== null) {
      const text = body(refusal);
      response.writeHead(refusal.status, { ...refusal.headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), Connection: 'close' });
      response.end(text);
      return;
    }
    for (const listener of listeners) listener.call(http, request, response);
  });

  http.prependListener('upgrade', (request: IncomingMessage, socket: Duplex) => {
    const refusal = refusalOf(request);
    if (refusal === null) return;
    const text = body(refusal);
    const reason = { 403: 'Forbidden', 429: 'Too Many Requests', 503: 'Service Unavailable' }[refusal.status];
    const headers = Object.entries(refusal.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
    // engine.io's upgrade listener runs after this one and, finding the socket no longer writable, only closes it.
    socket.end(
      `HTTP/1.1 ${refusal.status} ${reason}\r\n${headers}Connection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
  });
}
