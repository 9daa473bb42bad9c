import { Inject, Logger } from '@nestjs/common';
import { type OnGatewayConnection, type OnGatewayDisconnect, type OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/app-config.js';
import { hasExpired } from '../../auth/identity.js';
import { TokenVerifier } from '../../auth/token-verifier.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { PresenceService } from '../application/presence.service.js';
import { ackError, type AckError } from '../domain/ack.js';
import { MAX_OPEN_CONNECTIONS } from '../domain/streamer-record.js';
import { parseEnd, parseHeartbeat } from '../domain/payloads.js';
import type { EndAck, HeartbeatAck, StreamerServerEvents, StreamerSocketData } from './event-maps.js';
import { connectionIdOf } from './connection-id.js';
import { refusal, refusalLog, unavailable } from './socket-errors.js';
import { ThrottledLog } from '../../logging/throttled-log.js';
import { onePerNamespace, releaseNamespace } from './connection-guard.js';
import { authenticate, rateLimit, refuseHandshake, spendMessage } from './socket-middlewares.js';
import { EventLane } from './event-lane.js';
import { ackedListener } from './acked-listener.js';
import { tellFirstOccupancy } from './occupancy-first-notice.js';
import { describeConnectionId } from './connection-id.js';
import { SocketsByStreamer } from './sockets-by-streamer.js';
import { POD_CHANNEL } from '../application/injection-tokens.js';
import type { PodChannel } from '../domain/pod-channel.port.js';
import type { StoreResult } from '../domain/presence-store.port.js';
import { OccupancyService } from '../application/occupancy.service.js';
import { PodDirectory } from '../application/pod-directory.js';

/**
 * A connection outliving its token's `exp` is not cut, but its messages are refused: its lease then runs
 * out by the TTL, and the client reconnects with a fresh token (the SDK calls `getToken()` again).
 */
const TOKEN_EXPIRED = ackError('unauthorized', 'token expired: reconnect with a fresh token');

type StreamerSocket = Socket<Record<string, never>, StreamerServerEvents, Record<string, never>, StreamerSocketData>;

/** `/streamer`: the streamer app's socket. The streamer id is always the token's `sub`, never a message field. */
@WebSocketGateway({ namespace: '/streamer' })
export class StreamerGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(StreamerGateway.name);
  // In a store outage every streamer that connects or closes is a line: on a budget (ThrottledLog).
  private readonly outageLog = new ThrottledLog(this.logger);
  namespace: Namespace | null = null;
  // Open sockets per streamer id on this pod, whatever their lease. The store caps them cluster-wide
  // (one whose lease ended, by `end` or no heartbeat for the TTL, stays open and is parked there, its
  // place renewed by PresenceService); this is the same cap held here at once, while the store cannot
  // be reached, and where occupancy notices find a streamer's sockets.
  private readonly openHere = new SocketsByStreamer<StreamerSocket>(MAX_OPEN_CONNECTIONS);

  constructor(
    private readonly presence: PresenceService,
    private readonly verifier: TokenVerifier,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly occupancy: OccupancyService,
    private readonly pods: PodDirectory,
    @Inject(POD_CHANNEL) private readonly podChannel: PodChannel,
  ) {}

  afterInit(namespace: Namespace): void {
    this.namespace = namespace;
    namespace.use(authenticate(this.verifier, ['streamer'], { anonymous: false, pod: this.config.podId }, this.metrics));
    namespace.use(onePerNamespace());
    namespace.use((socket, next) => void this.admit(socket as StreamerSocket, next));
    namespace.on('connection', rateLimit(this.config.messageRateLimit, this.metrics, this.config.podId));
    // `heartbeat` and `end` are bound on Socket.IO directly, not with @SubscribeMessage: see ackedListener.
    const heartbeat = ackedListener((socket: StreamerSocket, payload) => this.heartbeat(socket, payload));
    const end = ackedListener((socket: StreamerSocket, payload) => this.end(socket, payload));
    // Most heartbeats take the lane; the listener has the rest (no ack id, or behind another message).
    const heartbeatLane = new EventLane<StreamerSocket>(namespace.name, 'heartbeat', (socket, payload) => this.heartbeat(socket, payload), spendMessage);
    namespace.on('connection', (socket: Socket) => {
      socket.on('heartbeat', heartbeat as (...args: unknown[]) => void);
      socket.on('end', end as (...args: unknown[]) => void);
      heartbeatLane.attach(socket as StreamerSocket);
    });
    // A notice goes to the streamer's sockets here and to the other pods its leases name; no room, so a
    // streamer's connection costs no channel subscription.
    this.occupancy.sendNoticesWith((streamerId, viewers, holders) => {
      this.tellHere(streamerId, viewers);
      const elsewhere = new Set(holders.map((id) => describeConnectionId(id).pod).filter((pod) => pod !== null && pod !== this.config.podId));
      for (const pod of elsewhere) this.podChannel.send(pod!, { streamerId, viewers });
    });
    this.podChannel.receive(({ streamerId, viewers }) => this.tellHere(streamerId, viewers));
    // A socket parked here (ended, or silent) that the store would no longer keep: see overCap.
    this.presence.whenPlaceLost((streamerId, connectionId) => {
      const socket = this.openHere.get(streamerId).find((open) => open.data.connectionId === connectionId);
      if (socket !== undefined) this.overCap(socket, 'keep');
    });
    this.pods.countSockets('streamers', namespace.sockets);
  }

  /**
   * The last handshake step: the store records the connection (its first heartbeat), or refuses it
   * when the streamer already holds MAX_OPEN_CONNECTIONS open ones, which the client gets as
   * `connect_error` "too_many_connections". A store that cannot be reached does not refuse: the
   * connection's next heartbeat records it once the store answers again.
   */
  private async admit(socket: StreamerSocket, next: (error?: Error) => void): Promise<void> {
    const streamerId = socket.data.identity.id;
    const connectionId = connectionIdOf(this.config.podId, socket);
    // Kept, not rebuilt per message: the same string is the key of this pod's note of the connection
    // (PresenceService), so it costs a pointer, and a heartbeat hashes no new string.
    socket.data.connectionId = connectionId;
    if (!this.openHere.add(streamerId, socket)) {
      releaseNamespace(socket);
      refuseHandshake(socket, 'too_many_connections', next, this.metrics, this.config.podId, { streamerId });
      return;
    }
    // The place is a flag on the socket, not a closure: an idle connection keeps only what it must.
    socket.data.placeHeld = true;
    // The transport may close while the store answers: then no disconnect handler will ever run. This
    // listener lives until the socket is connected (handleConnection removes it).
    const closedBeforeConnect = (): void => {
      this.releasePlace(socket);
      void this.presence.disconnect(streamerId, connectionId).catch(() => undefined);
    };
    socket.conn.on('close', closedBeforeConnect);
    socket.data.closedBeforeConnect = closedBeforeConnect;
    socket.data.admittedAt = Date.now();
    try {
      const result = await this.presence.connect(streamerId, connectionId);
      if (result.refused !== undefined) {
        socket.conn.off('close', closedBeforeConnect);
        socket.data.closedBeforeConnect = undefined;
        this.releasePlace(socket);
        releaseNamespace(socket);
        refuseHandshake(socket, result.refused, next, this.metrics, this.config.podId, { streamerId });
        return;
      }
      socket.data.admittedAt = result.serverTime;
    } catch (error) {
      const line = { msg: 'connect not recorded: store unavailable', streamerId, socketId: socket.id, error: String(error) };
      this.outageLog.write('connect not recorded', line, Date.now(), 'warn');
    }
    next();
  }

  /** Gives back the socket's place among its streamer's sockets on this pod, once. */
  private releasePlace(socket: StreamerSocket): void {
    if (!socket.data.placeHeld) return;
    socket.data.placeHeld = false;
    this.openHere.remove(socket.data.identity.id, socket);
  }

  handleConnection(socket: StreamerSocket): void {
    if (socket.data.closedBeforeConnect !== undefined) socket.conn.off('close', socket.data.closedBeforeConnect);
    socket.data.closedBeforeConnect = undefined;
    this.metrics.connections.inc({ namespace: '/streamer' });
    const streamerId = socket.data.identity.id;
    this.logger.log({ msg: 'streamer connected', streamerId, socketId: socket.id, pod: this.config.podId });
    socket.emit('session', {
      streamerId,
      heartbeatIntervalMs: this.config.heartbeatIntervalMs,
      presenceTtlMs: this.config.presenceTtlMs,
      serverTime: socket.data.admittedAt,
    });
    tellFirstOccupancy(socket, streamerId, (id) => this.occupancy.viewersOf(id));
  }

  async handleDisconnect(socket: StreamerSocket): Promise<void> {
    this.metrics.connections.dec({ namespace: '/streamer' });
    this.releasePlace(socket);
    if (socket.data.identity === undefined) return;
    this.logger.log({ msg: 'streamer disconnected', streamerId: socket.data.identity.id, socketId: socket.id, pod: this.config.podId });
    // A close of a connection the store holds nothing of would find a record it lost, and make the
    // streamer online for the grace (streamer-record.ts `close`).
    if (socket.data.placeLost === true) return this.presence.forget(socket.data.connectionId);
    await this.presence.disconnect(socket.data.identity.id, socket.data.connectionId).catch((error: unknown) => {
      // Replayed once the store is back (PresenceService.reassertLocal); its lease may run out by the TTL first.
      const line = { msg: 'disconnect not recorded: store unavailable', socketId: socket.id, error: String(error) };
      this.outageLog.write('disconnect not recorded', line, Date.now(), 'warn');
    });
  }

  /** This pod's connected sockets of the streamer hear the count, but for those still catching up (occupancy-first-notice.ts). */
  private tellHere(streamerId: string, viewers: number): void {
    for (const socket of this.openHere.get(streamerId)) if (socket.connected && socket.data.occupancyQuiet !== true) socket.emit('occupancy', { viewers });
  }

  /** A refusal is answered at once; a heartbeat the store takes, once it has. */
  heartbeat(socket: StreamerSocket, payload: unknown): HeartbeatAck | Promise<HeartbeatAck> {
    if (hasExpired(socket.data.identity, Date.now())) return this.refused(socket, 'heartbeat', TOKEN_EXPIRED);
    const parsed = parseHeartbeat(payload);
    if (!parsed.ok) return this.refused(socket, 'heartbeat', parsed);
    const renewed = this.presence.heartbeat(socket.data.identity.id, socket.data.connectionId, parsed.value.meta);
    if (!(renewed instanceof Promise)) return this.heartbeatAck(socket, renewed);
    return renewed.then(
      (result) => this.heartbeatAck(socket, result),
      (error: unknown) => this.refused(socket, 'heartbeat', unavailable(error)),
    );
  }

  private heartbeatAck(socket: StreamerSocket, result: StoreResult): HeartbeatAck {
    return result.refused !== undefined ? this.overCap(socket, 'heartbeat') : { ok: true, serverTime: result.serverTime, nextHeartbeatMs: this.config.heartbeatIntervalMs };
  }

  end(socket: StreamerSocket, payload: unknown): EndAck | Promise<EndAck> {
    if (hasExpired(socket.data.identity, Date.now())) return this.refused(socket, 'end', TOKEN_EXPIRED);
    const parsed = parseEnd(payload);
    if (!parsed.ok) return this.refused(socket, 'end', parsed);
    return this.presence.end(socket.data.identity.id, socket.data.connectionId).then(
      (): EndAck => ({ ok: true }),
      (error: unknown) => this.refused(socket, 'end', unavailable(error)),
    );
  }

  /**
   * A connection the store no longer holds a place for (its parked place ran out, as when Redis lost its
   * data, and others took the streamer's places meanwhile), found by a heartbeat or by this pod keeping
   * its place: its transport is closed, so the client reconnects and meets the cap where the contract
   * names it, as `connect_error` "too_many_connections".
   */
  private overCap(socket: StreamerSocket, event: 'heartbeat' | 'keep'): HeartbeatAck {
    const line = { msg: 'refused', code: 'too_many_connections', event, streamerId: socket.data.identity.id, socketId: socket.id, pod: this.config.podId };
    refusalLog.write('too_many_connections', line, Date.now());
    socket.data.placeLost = true;
    socket.conn.close();
    // Never delivered (the transport is closing); the handler's type wants an answer.
    return ackError('unavailable', 'this connection lost its place; reconnect');
  }

  private refused<T extends AckError>(socket: Socket, event: string, ack: T): T {
    const streamerId = (socket.data.identity as { id?: string } | null | undefined)?.id;
    return refusal(this.metrics, { pod: this.config.podId, socketId: socket.id, streamerId, event }, ack);
  }
}
