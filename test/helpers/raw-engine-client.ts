import type { Socket } from 'node:net';
import WebSocket from 'ws';
import { waitUntil } from './timing.js';

/** A plain WebSocket speaking Engine.IO v4 / Socket.IO v5 frames by hand, for what a stock client never sends. */
export interface RawClient {
  readonly ws: WebSocket;
  /** Every frame received, as text. */
  readonly frames: string[];
  closed: boolean;
  send(frame: string): void;
  /** The first frame from index `from` on that matches. */
  next(match: RegExp, from?: number): Promise<string>;
}

/** A raw Engine.IO WebSocket to the pod on `port`, open (its `0{…}` handshake received); pings are answered as a client would. */
export async function rawClient(port: number): Promise<RawClient> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  const client: RawClient = {
    ws,
    frames: [],
    closed: false,
    send: (frame) => ws.send(frame),
    next: (match, from = 0) => waitUntil(() => client.frames.slice(from).find((f) => match.test(f)), 5_000, 10),
  };
  ws.on('message', (data) => {
    const frame = data.toString();
    client.frames.push(frame);
    if (frame === '2') ws.send('3');
  });
  ws.on('close', () => (client.closed = true));
  ws.on('error', () => undefined);
  await client.next(/^0\{/);
  return client;
}

/**
 * Frames in one TCP write, so the pod reads them in one go, as it does from any client when it is busy.
 */
export function sendTogether(client: RawClient, frames: readonly string[]): void {
  const tcp = (client.ws as unknown as { _socket: Socket })._socket;
  tcp.cork();
  for (const frame of frames) client.send(frame);
  tcp.uncork();
}
