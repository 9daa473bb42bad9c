import WebSocket from 'ws';
import { waitUntil } from '../../helpers/timing.js';

/** An Engine.IO v4 WebSocket spoken raw, frame by frame, as an attacker would. */
export interface RawSocket {
  readonly ws: WebSocket;
  readonly frames: string[];
  readonly closed: boolean;
  send(frame: string | Buffer): void;
  /** The first frame from index `from` on that matches; rejects after 5 s. */
  next(match: RegExp, from?: number): Promise<string>;
  /** Resolves once the server has closed the connection; rejects after `timeoutMs`. */
  untilClosed(timeoutMs?: number): Promise<void>;
}

/**
 * Opens a raw Engine.IO WebSocket to the pod from `address` (as X-Forwarded-For) and resolves once its
 * `0{…}` open packet is in. It answers the server's pings, as a client would, unless `silent`.
 */
export async function openRawSocket(port: number, address: string, options: { silent?: boolean } = {}): Promise<RawSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, { headers: { 'X-Forwarded-For': address } });
  let closed = false;
  const frames: string[] = [];
  ws.on('message', (data) => {
    const frame = data.toString();
    frames.push(frame);
    if (frame === '2' && !options.silent) ws.send('3');
  });
  ws.on('close', () => (closed = true));
  ws.on('error', () => undefined);
  let refusedWith: number | undefined;
  ws.on('unexpected-response', (_request, response) => {
    refusedWith = response.statusCode;
    ws.terminate();
  });
  const socket: RawSocket = {
    ws,
    frames,
    get closed() {
      return closed;
    },
    send: (frame) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(frame);
    },
    next: (match, from = 0) => waitUntil(() => frames.slice(from).find((f) => match.test(f)), 5_000, 10),
    untilClosed: async (timeoutMs = 5_000) => {
      await waitUntil(() => closed, timeoutMs, 20);
    },
  };
  await waitUntil(() => refusedWith !== undefined || frames.length > 0 || closed, 5_000, 5);
  if (refusedWith !== undefined) throw new HandshakeRefused(refusedWith);
  await socket.next(/^0\{/);
  return socket;
}

/** The server answered the WebSocket upgrade with an HTTP status (429 over the handshake rate). */
export class HandshakeRefused extends Error {
  constructor(readonly status: number) {
    super(`handshake refused with HTTP ${status}`);
  }
}

/** What a sustained attack from one address got. */
export interface SustainedAttack {
  /** Connections the pod accepted. */
  opened: number;
  /** Upgrades refused with HTTP 429. */
  throttled: number;
  /** Accepted connections the pod closed while they were abusing it. */
  cut: number;
  /** Accepted connections still open when the attack ended. */
  survived: number;
  /** How long each cut connection lived, from its open packet to its close. */
  readonly livedMs: number[];
}

/**
 * For `ms` (or until `connections` have been opened), keeps `concurrency` raw connections from `address`
 * busy with `abuse`; each that is cut (or refused) is replaced at once, so the attacker presses as hard
 * as the pod lets it. `abuse` should run until the connection closes or the attack's time is up (its
 * `stop()` says so).
 */
export async function sustainFromOneAddress(
  port: number,
  address: string,
  options: { ms: number; concurrency: number; abuse: (socket: RawSocket, stop: () => boolean) => Promise<void>; connections?: number },
): Promise<SustainedAttack> {
  const tally: SustainedAttack = { opened: 0, throttled: 0, cut: 0, survived: 0, livedMs: [] };
  const until = Date.now() + options.ms;
  const stop = (): boolean => Date.now() >= until || tally.opened >= (options.connections ?? Infinity);
  const lane = async (): Promise<void> => {
    while (!stop()) {
      let socket: RawSocket;
      try {
        socket = await openRawSocket(port, address);
      } catch (err) {
        if (!(err instanceof HandshakeRefused) || err.status !== 429) throw err;
        tally.throttled += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      tally.opened += 1;
      const openedAt = Date.now();
      await options.abuse(socket, () => Date.now() >= until || socket.closed);
      if (socket.closed) {
        tally.cut += 1;
        tally.livedMs.push(Date.now() - openedAt);
      }
      else {
        tally.survived += 1;
        socket.ws.terminate();
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return tally;
}
