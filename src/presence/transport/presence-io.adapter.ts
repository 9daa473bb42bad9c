import type { INestApplicationContext } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Socket as EngineSocket } from 'engine.io';
import type { Server, ServerOptions, Socket } from 'socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { isObservable, lastValueFrom } from 'rxjs';
import type { AppConfig } from '../../config/app-config.js';
import type { Readiness } from '../../health/readiness.js';
import { guardPingFrames, guardConnectPackets, guardedParser, refuseMainNamespace } from './connection-guard.js';
import { ADDRESS_CONNECTIONS_FULL, DRAINING, HANDSHAKE_RATE_LIMITED, type HandshakeRefusal, installHandshakeGate, ORIGIN_REFUSED } from './handshake-gate.js';
import { KeyedQuota } from '../domain/keyed-quota.js';
import { AddressRateLimiter } from '../../http/address-limiter.js';
import { clientAddress } from '../../http/client-address.js';
import { addressOf, rememberAddress } from './connection-address.js';
import { releaseUpgradeRequests } from './upgrade-request-release.js';

/** Frames above this close their socket (engine.io's `maxHttpBufferSize`); the default 1 MB is far more than any message needs. */
export const MAX_FRAME_BYTES = 64 * 1024;
/** How long an engine.io connection may stay without joining a namespace. */
export const CONNECT_TIMEOUT_MS = 10_000;

type AdapterConstructor = NonNullable<ServerOptions['adapter']>;

/** A handler's result: a value, a promise, or an Observable (NestJS allows all three). */
async function settle(result: unknown): Promise<unknown> {
  const value = await result;
  return isObservable(value) ? lastValueFrom(value, { defaultValue: undefined }) : value;
}

function isWsResponse(value: unknown): value is { event: string; data: unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { event?: unknown }).event === 'string';
}

/** A socket with its gateway's handlers, for the shared listeners of `bindMessageHandlers`. */
type SocketWithHandlers = Socket & { gatewayHandlers?: Record<string, MessageMappingProperties> };

/**
 * The one place the Socket.IO server is configured: timing from config (so the Socket.IO ping keeps a
 * connection inside the load balancer's idle timeout), the frame limit, the Origin check, refusing new
 * connections while draining (503, which the load balancer retries on another pod), and, in Redis mode,
 * the cross-pod adapter.
 */
export class PresenceIoAdapter extends IoAdapter {
  private readonly handshakes: AddressRateLimiter;
  // Open connections per address: at the handshake rate alone, one address could fill a pod's
  // MAX_CONNECTIONS within the hour.
  private readonly connections: KeyedQuota;

  constructor(
    app: INestApplicationContext,
    private readonly config: AppConfig,
    private readonly readiness: Readiness,
    private readonly crossPodAdapter?: AdapterConstructor,
  ) {
    super(app);
    this.handshakes = new AddressRateLimiter(config.handshakeRatePerAddress);
    this.connections = new KeyedQuota(config.connectionsPerAddress);
    const connections = this.connections;
    this.releaseAddress = function (this: EngineSocket): void {
      connections.release(addressOf(this), 1);
    };
  }

  /** A counted connection closed: its address's place is free (`this` is the connection; one function for all). */
  private readonly releaseAddress: (this: EngineSocket) => void;

  /**
   * Binds each gateway handler with a plain `socket.on`, with the semantics of NestJS's own binding
   * (payload and ack mapping, `{ event, data }` responses, `isAckHandledManually`, errors logged and not
   * thrown). NestJS's version keeps an rxjs pipeline alive per socket and per message; measured by
   * `npm run bench`, that was half of an idle connection's heap (23 KB against 12 KB) and a quarter of
   * the CPU of a heartbeat.
   */
  override bindMessageHandlers(socket: Socket, handlers: MessageMappingProperties[]): void {
    // One listener function per event name for all sockets (`this` is the socket), which finds the
    // socket's own handler on it: a closure per handler per socket was a few hundred bytes of every idle
    // connection's heap.
    if (handlers.length === 0) return;
    const own = ((socket as SocketWithHandlers).gatewayHandlers ??= {});
    for (const handler of handlers) {
      const message = handler.message as string;
      own[message] = handler;
      socket.on(message, this.listenerFor(message));
    }
  }

  private readonly listeners = new Map<string, (this: SocketWithHandlers, ...args: unknown[]) => void>();

  private listenerFor(message: string): (this: SocketWithHandlers, ...args: unknown[]) => void {
    let listener = this.listeners.get(message);
    if (listener === undefined) {
      const adapter = this;
      listener = function (this: SocketWithHandlers, ...args: unknown[]): void {
        const { callback, isAckHandledManually } = this.gatewayHandlers![message]!;
        // As rxjs fromEvent, which NestJS binds with: several arguments as an array, else the one (or undefined).
        const { data, ack } = adapter.mapPayload(args.length > 1 ? args : args[0]);
        void settle(callback(data, ack)).then(
          (response) => {
            if (response === undefined || response === null) return;
            if (isWsResponse(response)) this.emit(response.event, response.data);
            else if (!isAckHandledManually && typeof ack === 'function') ack(response);
          },
          (error: unknown) => adapter.logger.error(error),
        );
      };
      this.listeners.set(message, listener);
    }
    return listener;
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const server = super.createIOServer(port, { ...options, ...this.serverOptions() } as ServerOptions) as Server;
    const http = this.httpServer as HttpServer | undefined;
    if (http !== undefined) {
      const holdsSession = (sid: string): boolean => sid in (server.engine as unknown as { clients: Record<string, unknown> }).clients;
      installHandshakeGate(http, server.path(), holdsSession, (request, kind) =>
        kind === 'stray' ? this.overRate(request) : (this.refusal(request) ?? this.addressFull(request) ?? this.overRate(request)),
      );
      releaseUpgradeRequests(http);
    }
    server.engine.on('connection', (conn: EngineSocket) => this.countConnection(conn));
    server.engine.on('connection', guardPingFrames);
    server.engine.on('connection', guardConnectPackets((namespace) => server._nsps.has(namespace)));
    server.of('/').use(refuseMainNamespace);
    return server;
  }

  private serverOptions(): Partial<ServerOptions> {
    const allowed = this.config.allowedOrigins;
    return {
      maxHttpBufferSize: MAX_FRAME_BYTES,
      // No binary attachments, no deep nesting: either closes the connection at once (connection-guard.ts).
      parser: guardedParser,
      // A connection that has not joined a namespace within this long is closed (Socket.IO's default: 45 s).
      connectTimeout: CONNECT_TIMEOUT_MS,
      pingInterval: this.config.pingIntervalMs,
      pingTimeout: this.config.pingTimeoutMs,
      // `cors` only tells browsers what they may read; any other client ignores it, so refusing an
      // Origin is done at the handshake (see handshake-gate.ts). `allowRequest` refuses the same
      // requests, in case one ever reaches engine.io.
      cors: { origin: allowed === null ? true : [...allowed] },
      allowRequest: (request, callback) => {
        const refusal = this.refusal(request);
        callback(refusal?.message ?? null, refusal === null);
      },
      ...(this.crossPodAdapter === undefined ? {} : { adapter: this.crossPodAdapter }),
    };
  }

  /** The request's client address already holds CONNECTIONS_PER_ADDRESS open connections here. */
  private addressFull(request: IncomingMessage): HandshakeRefusal | null {
    return this.connections.isFull(clientAddress(request, this.config.trustedProxyHops)) ? ADDRESS_CONNECTIONS_FULL : null;
  }

  /**
   * Holds a place for the connection's address while it is open; one that slipped past the gate's check
   * (handshakes racing) is closed. The address stays on the connection, the request it was read from
   * does not (rememberAddress).
   */
  private countConnection(conn: EngineSocket): void {
    const address = clientAddress(conn.request, this.config.trustedProxyHops);
    rememberAddress(conn, address);
    if (!this.connections.reserve(address, 1)) {
      conn.close();
      return;
    }
    // `on`, not `once` (which binds a wrapper per call): no closure per connection.
    conn.on('close', this.releaseAddress);
  }



  /** New handshakes past HANDSHAKE_RATE_PER_ADDRESS from the request's client address (counted once, at the gate). */
  private overRate(request: IncomingMessage): HandshakeRefusal | null {
    return this.handshakes.allow(clientAddress(request, this.config.trustedProxyHops), Date.now()) ? null : HANDSHAKE_RATE_LIMITED;
  }

  /**
   * Origin first: its 403 is the answer on every pod, so a load balancer should not retry it; a
   * draining pod's 503 is retried on another.
   */
  private refusal(request: IncomingMessage): HandshakeRefusal | null {
    const origin = request.headers.origin;
    const allowed = this.config.allowedOrigins;
    if (allowed !== null && origin !== undefined && !allowed.includes(origin)) return ORIGIN_REFUSED;
    if (this.readiness.isDraining) return DRAINING;
    return null;
  }
}
