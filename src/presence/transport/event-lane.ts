import { Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { payloadOf } from './acked-listener.js';
import { type FramedWebSocket, sendText, WS_OPEN } from './websocket-frame.js';

const logger = new Logger('EventLane');

/**
 * What a connection's decoder (connection-guard.ts) holds for a lane: the lane and the socket whose
 * packets may take it, and how many of the connection's packets went Socket.IO's way and are not yet
 * dispatched (none may be overtaken).
 */
export interface LaneDecoder {
  lane: EventLane<Socket> | undefined;
  laneSocket: Socket | undefined;
  packetsOnSocketIoPath: number;
}

/** What `admit` decided: handle the packet, drop it (its connection was cut), or answer it with this refusal. */
export type Admission = 'spent' | 'cut' | object;

/**
 * One event of one namespace, handled as its packet is decoded instead of through Socket.IO's dispatch:
 * for the message every streamer sends all the time (`heartbeat`). Socket.IO's way, a packet is decoded
 * into an object, handed on twice through `process.nextTick` (Client.ondecoded, Socket.dispatch), given
 * an ack closure, run through the socket's middlewares, emitted to its listener, and its ack encoded from
 * an object and queued in engine.io. With the lane (acks still written through engine.io) the embedded
 * pod's CPU per heartbeat went from 41.5, 45.7 and 42.0 µs to 36.4, 39.2 and 37.3 µs (three rounds side
 * by side, `npm run bench`'s heartbeat loop on a busy host; the bare server 37.3-39.3 µs). Here the
 * text is matched, its arguments parsed, the namespace's budget spent (`admit`: the lane stands in for
 * the socket's middlewares, which on `/streamer` are that rate limit alone), the same handler called with
 * the same payload, and the same ack bytes written.
 *
 * Anything that is not a plain acked packet of the event (no ack id, another event, JSON Socket.IO would
 * refuse) goes Socket.IO's way, untouched, to the event's listener. So does every packet while one of the
 * connection's packets that went that way waits for its dispatch: a `heartbeat` after an `end` is still
 * handled after it. One difference is left: a handler that closes the connection (a flood cut, a lost
 * place) now does so before the rest of that read is decoded, and engine.io drops the rest, where
 * Socket.IO's way it would already have been queued.
 */
export class EventLane<S extends Socket> {
  private readonly prefix: string;
  private readonly opening: string;
  private readonly ackPrefix: string;

  constructor(
    namespace: string,
    private readonly event: string,
    private readonly handle: (socket: S, payload: unknown) => unknown,
    private readonly admit: (socket: S) => Admission,
  ) {
    // Socket.IO's text encoding (socket.io-parser): the type digit (2 EVENT, 3 ACK), the namespace and a
    // comma (none for `/`), the ack id, then the JSON array of the event name and its arguments (or the ack's).
    if (namespace === '/' || !namespace.startsWith('/')) throw new Error(`EventLane: namespace ${namespace}: only a named namespace has a lane`);
    this.prefix = `2${namespace},`;
    this.opening = `[${JSON.stringify(event)}`;
    this.ackPrefix = `3${namespace},`;
  }

  /** The socket's packets may take this lane from now on (called once it is connected). */
  attach(socket: S): void {
    const decoder = (socket.client as unknown as { decoder: Partial<LaneDecoder> }).decoder;
    // Another parser (a test's) has no place for a lane: Socket.IO's way only.
    if (typeof decoder.packetsOnSocketIoPath !== 'number') return;
    decoder.lane = this as unknown as EventLane<Socket>;
    decoder.laneSocket = socket;
  }

  /** Handles `packet` if it is this lane's; false leaves it to Socket.IO, unread. */
  take(socket: S, packet: string): boolean {
    if (!packet.startsWith(this.prefix)) return false;
    const idFrom = this.prefix.length;
    let at = idFrom;
    while (at < packet.length && isDigit(packet.charCodeAt(at))) at += 1;
    if (at === idFrom || !packet.startsWith(this.opening, at)) return false;
    let data: unknown;
    try {
      data = JSON.parse(packet.slice(at));
    } catch {
      return false;
    }
    if (!Array.isArray(data) || data[0] !== this.event) return false;
    // As Socket.IO reads the id (socket.io-parser), and so as it answers it.
    const id = Number(packet.slice(idFrom, at));
    // The handler's payload as ackedListener gives it (after the event name).
    const payload = payloadOf(data, 1, data.length);
    // Nothing thrown here may reach the decoder: Socket.IO would take it for a malformed packet and close
    // the connection. Logged, unanswered, as ackedListener does.
    try {
      const admission = this.admit(socket);
      if (admission !== 'spent') {
        if (admission !== 'cut') this.answer(socket, id, admission);
        return true;
      }
      const answer = this.handle(socket, payload);
      if (answer instanceof Promise) answer.then((value) => this.answer(socket, id, value)).catch((error: unknown) => logger.error(error));
      else this.answer(socket, id, answer);
    } catch (error) {
      logger.error(error);
    }
    return true;
  }

  /**
   * The ack, the bytes Socket.IO's encoder makes of it, written as Socket.IO would (Client._packet), but
   * on the WebSocket itself when engine.io holds nothing back: all engine.io wrote before is then in the
   * WebSocket's sender already, which sends in call order, and what it writes next comes after. Through
   * engine.io (its packet, buffer, flush and drain events) the pod spent 36.4, 39.2 and 37.3 µs of CPU per
   * heartbeat; with `ws.send` here, 31.9, 34.2 and 34.4 µs (the same three rounds as above).
   */
  private answer(socket: S, id: number, value: unknown): void {
    const conn = socket.conn as unknown as EngineConnection;
    if (conn.readyState !== 'open') return;
    const text = `${this.ackPrefix}${id}[${JSON.stringify(value) ?? 'null'}]`;
    const ws = conn.transport.socket;
    if (conn.writeBuffer.length === 0 && conn.transport.name === 'websocket' && ws !== undefined && ws.readyState === WS_OPEN) sendText(ws, `4${text}`);
    else conn.write(text);
  }
}

/** The parts of an engine.io connection (engine.io 6, pinned with socket.io) that the lane writes through. */
interface EngineConnection {
  readonly readyState: string;
  /** Packets engine.io holds until its transport can take them. */
  readonly writeBuffer: readonly unknown[];
  readonly transport: { readonly name: string; readonly socket?: FramedWebSocket };
  write(data: string): void;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * Called by the decoder for each text packet of a connection that has a lane: true when the lane took
 * it. Why a packet that goes Socket.IO's way cannot be overtaken: Socket.IO dispatches it within
 * `process.nextTick` callbacks (Client.ondecoded, then Socket.dispatch, whose middlewares here are
 * synchronous), and Node runs every queued tick before it reads a socket again; the packets after it in
 * the same read are decoded before any tick runs, and wait while the count is above 0. The count goes
 * down three ticks later: queued before Socket.IO's first (the decoder emits the packet after this
 * returns), each of ours runs just before Socket.IO's next, and the third just after the dispatch.
 */
export function takeLanePacket(decoder: LaneDecoder, packet: string): boolean {
  const socket = decoder.laneSocket!;
  if (!socket.connected) {
    // The socket left its namespace; Socket.IO answers what comes for it now (and the socket can go).
    decoder.lane = undefined;
    decoder.laneSocket = undefined;
  } else if (decoder.packetsOnSocketIoPath === 0 && decoder.lane!.take(socket, packet)) return true;
  decoder.packetsOnSocketIoPath += 1;
  process.nextTick(beforeOnpacket, decoder);
  return false;
}

function beforeOnpacket(decoder: LaneDecoder): void {
  process.nextTick(beforeDispatch, decoder);
}

function beforeDispatch(decoder: LaneDecoder): void {
  process.nextTick(dispatched, decoder);
}

function dispatched(decoder: LaneDecoder): void {
  decoder.packetsOnSocketIoPath -= 1;
}
