import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';

type Listener = (...args: unknown[]) => void;
/** What `rawListeners` gives for a `once` listener: a wrapper holding the listener. */
type OnceWrapper = Listener & { listener?: Listener };

/**
 * Lets go of each WebSocket upgrade's HTTP request once engine.io has taken the connection.
 *
 * engine.io 6.6 wraps every upgrade in a `WebSocketResponse` (so HTTP middlewares can run on it), and
 * that object adds `socket.once('close', …)` to the TCP socket, for middlewares that wait for a
 * response's end. It is never removed before the socket closes, so it keeps the response and, through
 * it, the upgrade's IncomingMessage (headers, raw headers, query, streams' state) for the connection's
 * whole life: about a kilobyte of every idle connection, even with `conn.request` dropped as
 * Socket.IO's memory guide advises (`rememberAddress`). No engine.io middleware is installed here, so
 * nothing listens for that response's `close`.
 *
 * Must be installed after engine.io attached to `http`: it notes the socket's `close` listeners before
 * engine.io's `upgrade` listener runs and removes the `once` ones that listener added.
 */
export function releaseUpgradeRequests(http: HttpServer): void {
  // Both listeners run in one synchronous emit of 'upgrade', engine.io's between them.
  let noted: { socket: Duplex; before: readonly Listener[] } | null = null;
  http.prependListener('upgrade', (_request: IncomingMessage, socket: Duplex) => {
    noted = { socket, before: socket.rawListeners('close') as Listener[] };
  });
  http.on('upgrade', (_request: IncomingMessage, socket: Duplex) => {
    const before = noted?.socket === socket ? noted.before : null;
    noted = null;
    if (before === null) return;
    for (const raw of socket.rawListeners('close') as OnceWrapper[]) {
      if (raw.listener !== undefined && !before.includes(raw)) socket.removeListener('close', raw.listener);
    }
  });
}
