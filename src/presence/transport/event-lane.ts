import { Logger } from '@nestjs/common';
import type { Socket } from 'socket.io';

const logger = new Logger('EventLane');

/**
 * What a connection's decoder (connection-guard.ts) holds for a lane: the lane and the socket whose
 * packets may take it, and how many of the connection's packets went Socket.IO's way and are not yet
 * dispatched (none may be overtaken).
 */
export interface LaneDecoder {
  lane: EventLane<Socket> | undefined;
  laneSocket: Socket | undefined;
  slowInFlight: number;
}

/** The packet's answer, or what refused it; a function of Socket.IO's ack shape. */
type Answer = (value: unknown) => void;

/**
 * One event of one namespace, handled as its packet is decoded instead of through Socket.IO's dispatch:
 * for the message every streamer sends all the time (`heartbeat`). Socket.IO's way, a packet is decoded
 * into an object, handed on twice through `process.nextTick` (Client.ondecoded, Socket.dispatch), given
 * an ack closure, run through the socket's middlewares, emitted to its listener, and its ack encoded from
 * an object; a bare Socket.IO server's heartbeat spent about 5 µs of its 30 there (CPU profile of the
 * `npm run bench` loop), about as much as the service's whole heartbeat on top of it. Here the text is
 * matched, its arguments parsed, the same budget spent (`admit`, the rate limit of socket-middlewares.ts),
 * the same handler called with the same payload, and the ack written as Socket.IO writes it.
 *
 * Anything that is not a plain acked packet of the event (no ack id, another event, JSON Socket.IO would
 * refuse) goes Socket.IO's way, untouched. So does every packet while one of the connection's packets
 * that went that way waits for its dispatch: the lane never overtakes one, so a `heartbeat` after an `end`
 * is still handled after it.
 */
export class EventLane<S extends Socket> {
  private readonly prefix: string;
  private readonly opening: string;
  private readonly ackPrefix: string;

  constructor(
    namespace: string,
    private readonly event: string,
    private readonly handle: (socket: S, payload: unknown) => unknown,
    private readonly admit: (socket: S, refuse: Answer) => boolean,
  ) {
    // Socket.IO's text encoding (socket.io-parser): the type digit (2 EVENT, 3 ACK), the namespace and a
    // comma, the ack id, then the JSON array of the event name and its arguments (or the ack's).
    this.prefix = `2${namespace},`;
    this.opening = `[${JSON.stringify(event)}`;
    this.ackPrefix = `3${namespace},`;
  }

  /** The socket's packets may take this lane from now on (called once it is connected). */
  attach(socket: S): void {
    const decoder = (socket.client as unknown as { decoder: Partial<LaneDecoder> }).decoder;
    // Another parser (a test's) has no place for a lane: Socket.IO's way only.
    if (typeof decoder.slowInFlight !== 'number') return;
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
    if (!this.admit(socket, (refusal) => this.answer(socket, id, refusal))) return true;
    // The handler's payload as ackedListener gives it: the one argument, several as an array.
    const payload = data.length === 1 ? undefined : data.length === 2 ? data[1] : data.slice(1);
    let answer: unknown;
    try {
      answer = this.handle(socket, payload);
    } catch (error) {
      logger.error(error);
      return true;
    }
    if (answer instanceof Promise) answer.then((value) => this.answer(socket, id, value), (error: unknown) => logger.error(error));
    else this.answer(socket, id, answer);
    return true;
  }

  /** The ack, the bytes Socket.IO's encoder makes of it, written as Socket.IO writes one (Client._packet). */
  private answer(socket: S, id: number, value: unknown): void {
    const conn = socket.conn as unknown as EngineConnection;
    if (conn.readyState !== 'open') return;
    const text = `${this.ackPrefix}${id}[${value === undefined ? 'null' : JSON.stringify(value)}]`;
    const ws = conn.transport.socket;
    if (conn.writeBuffer.length === 0 && conn.transport.name === 'websocket' && ws !== undefined && ws.readyState === 1) ws.send(`4${text}`);
    else conn.write(text);
  }
}

/** The parts of an engine.io connection the lane writes through (engine.io's own fields; see answer). */
interface EngineConnection {
  readonly readyState: string;
  /** Packets engine.io holds until its transport can take them. */
  readonly writeBuffer: readonly unknown[];
  readonly transport: { readonly name: string; readonly socket?: { readonly readyState: number; send(data: string): void } };
  write(data: string): void;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/**
 * Called by the decoder for each text packet of a connection that has a lane: true when the lane took
 * it. A packet left to Socket.IO is dispatched two ticks later (Client.ondecoded, then Socket.dispatch,
 * whose middlewares here are synchronous); until a tick after that, none of the connection's packets
 * takes the lane.
 */
export function takeLanePacket(decoder: LaneDecoder, packet: string): boolean {
  const socket = decoder.laneSocket!;
  if (decoder.slowInFlight === 0 && socket.connected && decoder.lane!.take(socket, packet)) return true;
  decoder.slowInFlight += 1;
  // Queued before Socket.IO's own tick for the packet (the decoder emits it after this returns), so each
  // of ours runs just before Socket.IO's next one: the third, just after the dispatch.
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
  decoder.slowInFlight -= 1;
}
