import { createRequire } from 'node:module';
import { Logger } from '@nestjs/common';
import type { Socket as EngineSocket } from 'engine.io';
import type { Socket } from 'socket.io';
import type { Packet } from 'socket.io-parser';
import { TokenBucket } from '../domain/token-bucket.js';
import { type EventLane, type LaneDecoder, takeLanePacket } from './event-lane.js';

// The CommonJS build of socket.io-parser, the very module socket.io itself loads: an ESM import gets
// its "esm-debug" build on Node, a second copy that logs every packet through `debug`, which was a few
// per cent of a heartbeat's CPU.
const { Decoder, Encoder } = createRequire(import.meta.url)('socket.io-parser') as typeof import('socket.io-parser');

// Per-connection limits of the wire: one client's abuse costs it its connection, never others their
// service. Each cut closes the engine.io connection (a live client reconnects) and logs once.

const logger = new Logger('ConnectionGuard');

/** Refused namespace CONNECTs (bad token, a second socket on a namespace) one connection may send. */
export const MAX_REFUSED_CONNECTS = 10;
/** WebSocket ping frames per second a connection may send (bursts of twice that); ws answers each with a pong. */
export const PING_FRAMES_PER_SECOND = 5;

/** JSON nesting a packet may have; ours have 3 (`["heartbeat",{"meta":{…}}]`). */
export const MAX_JSON_DEPTH = 16;

/**
 * Whether JSON text nests deeper than `limit`, counting brackets outside strings; it stops as soon as
 * it does. One pass over the characters, no parsing.
 */
export function jsonDepthOver(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth += 1;
      if (depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth -= 1;
  }
  return false;
}

/**
 * The wire's own checks, before anything is parsed:
 * - no event of ours carries binary: a packet announcing attachments is a protocol error, which closes
 *   the connection at once instead of holding a half-sent packet while its attachments never come;
 * - JSON nested deeper than MAX_JSON_DEPTH is a protocol error too: a 30,000-deep array fits in one
 *   frame, and handling it (parsing, checking, refusing) cost the pod ~10 ms a message, so that ten
 *   connections at the allowed rate held every other client for hundreds of milliseconds.
 * Socket.IO closes a connection whose packet fails to decode.
 */
class GuardedDecoder extends Decoder implements LaneDecoder {
  // The connection's event lane, once its socket has one (event-lane.ts).
  lane: EventLane<Socket> | undefined = undefined;
  laneSocket: Socket | undefined = undefined;
  packetsOnSocketIoPath = 0;

  constructor() {
    super({ maxAttachments: 0 });
  }

  override add(packet: unknown): void {
    if (typeof packet === 'string') {
      if (jsonDepthOver(packet, MAX_JSON_DEPTH)) throw new Error('JSON nested too deep');
      if (this.lane !== undefined && takeLanePacket(this, packet)) return;
    }
    super.add(packet);
  }
}
/**
 * Socket.IO's encoder without its search for binary: every message of ours is JSON (the contract), and
 * before writing each one the stock encoder walked the whole payload looking for a Buffer (`hasBinary`,
 * 0.16 µs of a heartbeat's ack in the embedded pod's CPU profile). A Buffer given to it would be sent
 * as its JSON form, not as an attachment.
 */
export class JsonOnlyEncoder extends Encoder {
  override encode(packet: Packet): string[] {
    // The stock encoder's own text encoding (private in its types), as it does for a packet without binary.
    return [(this as unknown as { encodeAsString(packet: Packet): string }).encodeAsString(packet)];
  }
}

export const guardedParser = { Encoder: JsonOnlyEncoder, Decoder: GuardedDecoder };

/** Connections already cut: refusals still in flight when it happened must not cut (and log) it again. */
const alreadyCut = new WeakSet<EngineSocket>();

function cut(conn: EngineSocket, why: string): void {
  if (alreadyCut.has(conn)) return;
  alreadyCut.add(conn);
  logger.warn({ msg: 'connection cut', why, remoteAddress: conn.remoteAddress });
  conn.close(true);
  // A WebSocket's orderly close waits for the client's close frame, reading (and parsing) whatever it
  // keeps sending meanwhile: an abuser's connection is dropped at the TCP level instead.
  (conn.transport as unknown as { socket?: { terminate?: () => void } }).socket?.terminate?.();
}

/** Counts a refused namespace CONNECT on the socket's connection; past MAX_REFUSED_CONNECTS, cuts it. */
export function countRefusedConnect(socket: Socket): void {
  countRefused(socket.conn);
}

function countRefused(engineSocket: EngineSocket): void {
  const conn = engineSocket as EngineSocket & { refusedConnects?: number };
  conn.refusedConnects = (conn.refusedConnects ?? 0) + 1;
  if (conn.refusedConnects > MAX_REFUSED_CONNECTS) cut(conn, 'refused connects');
}

/**
 * CONNECT packets one connection may send in all: a socket per namespace, and retries after refusals
 * (a refreshed token). Counted as they arrive, before Socket.IO decodes them: refusals come only after
 * the asynchronous token check, by when a frame of 1500 CONNECTs would all be in progress.
 */
export const MAX_CONNECT_PACKETS = 20;

/**
 * Watches the CONNECT packets of a connection on the raw wire. Past MAX_CONNECT_PACKETS the connection
 * is cut at once, and engine.io drops what it still holds of that read. Socket.IO answers a CONNECT for a
 * namespace it does not serve ("Invalid namespace") without any hook of ours, so those count as refused
 * ones here. The main namespace `/` counts too: no client of ours uses it, and its sockets would carry
 * events past every budget of the real namespaces (it is refused by `refuseMainNamespace`).
 */
export function guardConnectPackets(serves: (namespace: string) => boolean) {
  // One listener function for every connection (`this` is the connection), its count on the connection:
  // a closure per connection cost each idle connection's heap a few hundred bytes (npm run bench).
  function onMessage(this: EngineSocket & { connectPackets?: number }, data: unknown): void {
    // A Socket.IO CONNECT packet: '0', then the namespace up to ',' (or the end), '/' when absent.
    if (typeof data !== 'string' || data[0] !== '0') return;
    this.connectPackets = (this.connectPackets ?? 0) + 1;
    if (this.connectPackets > MAX_CONNECT_PACKETS && this.readyState === 'open') {
      cut(this, 'connect flood');
      return;
    }
    const comma = data.indexOf(',');
    const namespace = data[1] === '/' ? data.slice(1, comma === -1 ? data.length : comma) : '/';
    if (namespace === '/' || !serves(namespace)) countRefused(this);
  }
  return (conn: EngineSocket): void => {
    conn.on('message', onMessage);
  };
}

/** Middleware for the main namespace `/`: every CONNECT to it is refused. */
export function refuseMainNamespace(_socket: Socket, next: (error?: Error) => void): void {
  next(new Error('invalid_namespace'));
}

/**
 * Namespace middleware, after authentication: one socket per namespace per connection. Socket.IO
 * refuses a CONNECT for a namespace the connection has joined, but not several sent before the first
 * is through its (asynchronous) middlewares: one WebSocket could carry hundreds of sockets, multiplying
 * every per-socket limit. The namespace is claimed here and freed when the socket disconnects, or by
 * `releaseNamespace` when a later step refuses it.
 */
export function onePerNamespace() {
  return (socket: Socket, next: (error?: Error) => void): void => {
    const client = socket.client as ClaimingClient;
    const name = socket.nsp.name;
    if (claimed(client).includes(name)) {
      countRefusedConnect(socket);
      next(new Error('too_many_sockets'));
      return;
    }
    client.claimedNamespaces = client.claimedNamespaces === undefined ? name : [...claimed(client), name];
    socket.on('disconnect', freeNamespace);
    next();
  };
}

/**
 * The namespaces a connection's sockets hold: one name as it is (nearly every connection has one
 * socket), several as an array. A Set each was a hundred bytes of every idle connection.
 */
type ClaimingClient = { claimedNamespaces?: string | string[] };

function claimed(client: ClaimingClient): readonly string[] {
  const names = client.claimedNamespaces;
  return names === undefined ? [] : typeof names === 'string' ? [names] : names;
}

function unclaim(client: ClaimingClient, name: string): void {
  const rest = claimed(client).filter((n) => n !== name);
  client.claimedNamespaces = rest.length === 0 ? undefined : rest.length === 1 ? rest[0] : rest;
}

/** The socket's namespace claim, freed when it disconnects (`this` is the socket; one function for all). */
function freeNamespace(this: Socket): void {
  unclaim(this.client as ClaimingClient, this.nsp.name);
}

/** Frees the namespace `onePerNamespace` claimed, for a socket a later step refused after all. */
export function releaseNamespace(socket: Socket): void {
  unclaim(socket.client as ClaimingClient, socket.nsp.name);
}

/**
 * Cuts a connection that sends WebSocket ping frames faster than PING_FRAMES_PER_SECOND for long:
 * answering each costs a write, and nothing of ours needs client pings (Socket.IO's own come from the
 * server).
 */
export function guardPingFrames(conn: EngineSocket): void {
  // A connection that starts on WebSocket (the SDK's) has nothing to upgrade to: no listener for it.
  if (conn.transport.name === 'websocket') watchPings.call(conn);
  else conn.on('upgrade', watchPings);
}

type PingWatched = EngineSocket & { pingBucket?: TokenBucket };

/** On the connection's WebSocket, if it has one; shared by every connection (`this`), so no closure each. */
function watchPings(this: PingWatched): void {
  const ws = (this.transport as unknown as { socket?: PingSource }).socket;
  if (this.transport.name !== 'websocket' || ws === undefined) return;
  ws.guardedConnection = this;
  ws.on('ping', onPing);
}

interface PingSource {
  guardedConnection?: PingWatched;
  on(event: 'ping', listener: (this: PingSource) => void): void;
}

function onPing(this: PingSource): void {
  const conn = this.guardedConnection!;
  conn.pingBucket ??= new TokenBucket(PING_FRAMES_PER_SECOND, Date.now());
  if (!conn.pingBucket.take(Date.now()) && conn.readyState === 'open') cut(conn, 'ping flood');
}

/**
 * A message flood: past the rate, messages are refused (`rate_limited`); a client that keeps sending at
 * well over the rate loses its connection. Refusals are themselves budgeted: the rate, with bursts of
 * five times it, so one burst (a reconnect's catch-up, a retry storm) is answered `rate_limited` and
 * kept, while a client at three times the rate is cut within about five seconds and at ten times
 * within one; at twice the rate, never.
 */
export class FloodMeter {
  private readonly refusals: TokenBucket;

  constructor(ratePerSecond: number, now: number) {
    this.refusals = new TokenBucket(ratePerSecond, now, ratePerSecond * 5);
  }

  /** Notes one refused message; true when the connection should be cut. */
  refused(now: number): boolean {
    return !this.refusals.take(now);
  }
}
