import {
  ConnectedSocket,
  MessageBody,
  type OnGatewayConnection,
  type OnGatewayDisconnect,
  type OnGatewayInit,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { Inject, Logger } from '@nestjs/common';
import { ThrottledLog } from '../../logging/throttled-log.js';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/app-config.js';
import { TokenVerifier } from '../../auth/token-verifier.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { SUBSCRIPTION_FENCE } from '../application/injection-tokens.js';
import { PresenceService } from '../application/presence.service.js';
import { ackError, type AckError } from '../domain/ack.js';
import { parseStreamerIds } from '../domain/payloads.js';
import type { SubscribeAck, UnsubscribeAck, ViewerServerEvents, ViewerSocketData } from './event-maps.js';
import { countAdapterMessages, measureDeliveries } from './delivery-metrics.js';
import { cutSlowReader } from './slow-reader.js';
import { AddressRateLimiter } from '../../http/address-limiter.js';
import { KeyedQuota } from '../domain/keyed-quota.js';
import { addressOf } from './connection-address.js';
import { streamerOfRoom, streamerRoom } from './rooms.js';
import { OccupancyService } from '../application/occupancy.service.js';
import { PodDirectory } from '../application/pod-directory.js';
import { ViewerBroadcaster } from './viewer-broadcaster.js';
import { refusal, unavailable } from './socket-errors.js';
import { onePerNamespace } from './connection-guard.js';
import { authenticate, rateLimit } from './socket-middlewares.js';
import { RequestsInOrder } from './requests-in-order.js';
import { ResyncWhenInForce } from './resync-when-in-force.js';
import { TurnsPerKey } from './turns-per-key.js';

/** Subscriptions one socket may hold; a client watching more opens more sockets. */
export const MAX_SUBSCRIPTIONS_PER_SOCKET = 1000;
/**
 * Requests of one socket waiting for the one before to be answered; past it, `rate_limited`. Ten times
 * what a client needs to subscribe its full MAX_SUBSCRIPTIONS_PER_SOCKET at once (ten of 100 ids).
 */
export const MAX_WAITING_REQUESTS_PER_SOCKET = 100;

type ViewerSocket = Socket<Record<string, never>, ViewerServerEvents, Record<string, never>, ViewerSocketData>;

/**
 * `/viewer`: viewers subscribe to streamers and receive their presence events. Subscribing joins the
 * streamer's room, so publishing is one emit to that room, which the adapter delivers on every pod.
 */
@WebSocketGateway({ namespace: '/viewer' })
export class ViewerGateway implements OnGatewayInit, OnGatewayConnection, OnGatewayDisconnect {
  private readonly logger = new Logger(ViewerGateway.name);
  namespace: Namespace<Record<string, never>, ViewerServerEvents> | null = null;

  constructor(
    private readonly presence: PresenceService,
    private readonly verifier: TokenVerifier,
    private readonly metrics: MetricsService,
    private readonly broadcaster: ViewerBroadcaster,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    /** True once every channel asked for so far is in force; false when it gave up waiting (COMMAND_TIMEOUT_MS). */
    @Inject(SUBSCRIPTION_FENCE) private readonly subscriptionsSettled: () => Promise<boolean>,
    private readonly occupancy: OccupancyService,
    private readonly pods: PodDirectory,
  ) {
    this.perAddress = new KeyedQuota(config.subscriptionsPerAddress);
    this.subscribeRate = new AddressRateLimiter(config.subscribeRatePerAddress);
  }

  private readonly perAddress: KeyedQuota;
  // Each new subscription costs the pod a room join and, in Redis mode, a channel subscription, about
  // 20 µs of its CPU: ten thousand at once would hold every other client for a fifth of a second.
  private readonly subscribeRate: AddressRateLimiter;
  // ...and what an address is allowed still comes in bursts (a thousand at once): its accepted
  // requests take one turn of the event loop each, so other clients' messages come between them.
  private readonly turns = new TurnsPerKey();
  private readonly fenceLog = new ThrottledLog(this.logger);
  private readonly answeredEarly = new ResyncWhenInForce<ViewerSocket>(() => this.subscriptionsSettled());

  afterInit(namespace: Namespace): void {
    this.namespace = namespace;
    this.broadcaster.attach(namespace);
    countAdapterMessages(namespace, this.metrics);
    this.countOccupancy(namespace);
    // Any valid token may watch (a streamer app showing its friends); only invalid ones are refused.
    namespace.use(authenticate(this.verifier, ['viewer', 'streamer', 'operator'], { anonymous: true, pod: this.config.podId }, this.metrics));
    namespace.use(onePerNamespace());
    namespace.on('connection', rateLimit(this.config.messageRateLimit, this.metrics, this.config.podId));
  }

  handleConnection(socket: ViewerSocket): void {
    this.metrics.connections.inc({ namespace: '/viewer' });
    socket.data.subscriptions = new Set();
    socket.data.address = addressOf(socket.conn);
    measureDeliveries(socket, this.metrics);
    cutSlowReader(socket, () => this.logger.warn({ msg: 'slow reader cut', socketId: socket.id, pod: this.config.podId }));
    this.logger.log({ msg: 'viewer connected', viewerId: socket.data.identity?.id ?? null, socketId: socket.id, pod: this.config.podId });
  }

  handleDisconnect(socket: ViewerSocket): void {
    this.metrics.connections.dec({ namespace: '/viewer' });
    if (socket.data.subscriptions === undefined) return;
    // As "viewer connected": when the pod let go of it, which its client may learn seconds later.
    this.logger.log({ msg: 'viewer disconnected', viewerId: socket.data.identity?.id ?? null, socketId: socket.id, pod: this.config.podId });
    this.perAddress.release(socket.data.address, socket.data.subscriptions.size);
    this.answeredEarly.forget(socket);
    // Released once: a subscribe still waiting (for its turn, or for Redis) finds nothing to give back.
    socket.data.subscriptions.clear();
  }

  /**
   * Occupancy is the size of a streamer's room here, on every pod: a join or a leave (a subscribe, an
   * unsubscribe, a closed socket) only marks the streamer, for the next flush.
   */
  private countOccupancy(namespace: Namespace): void {
    const adapter = namespace.adapter;
    this.occupancy.countViewersWith(
      (streamerId) => adapter.rooms.get(streamerRoom(streamerId))?.size ?? 0,
      function* () {
        for (const room of adapter.rooms.keys()) {
          const streamerId = streamerOfRoom(room);
          if (streamerId !== null) yield streamerId;
        }
      },
    );
    const changed = (room: string): void => {
      const streamerId = streamerOfRoom(room);
      if (streamerId !== null) this.occupancy.changed(streamerId);
    };
    adapter.on('join-room', changed);
    adapter.on('leave-room', changed);
    this.pods.countSockets('viewers', namespace.sockets);
  }

  @SubscribeMessage('subscribe')
  subscribe(@ConnectedSocket() socket: ViewerSocket, @MessageBody() payload: unknown): Promise<SubscribeAck> | SubscribeAck {
    return this.inOrder(socket, 'subscribe', () => this.subscribeNow(socket, payload));
  }

  @SubscribeMessage('unsubscribe')
  unsubscribe(@ConnectedSocket() socket: ViewerSocket, @MessageBody() payload: unknown): Promise<UnsubscribeAck> | UnsubscribeAck {
    return this.inOrder(socket, 'unsubscribe', () => this.unsubscribeNow(socket, payload));
  }

  private inOrder<T>(socket: ViewerSocket, event: string, request: () => T | Promise<T>): Promise<T> | AckError {
    // Made on a socket's first request: most viewer sockets subscribe once, and an idle one keeps nothing.
    socket.data.requests ??= new RequestsInOrder(MAX_WAITING_REQUESTS_PER_SOCKET);
    const answer = socket.data.requests.run(request);
    if (answer !== null) return answer;
    return this.refused(socket, event, ackError('rate_limited', `over ${MAX_WAITING_REQUESTS_PER_SOCKET} requests of this socket waiting for an answer`));
  }

  private async subscribeNow(socket: ViewerSocket, payload: unknown): Promise<SubscribeAck> {
    const parsed = parseStreamerIds(payload);
    if (!parsed.ok) return this.refused(socket, 'subscribe', parsed);
    const ids = parsed.value.streamerIds;
    const added = [...new Set(ids)].filter((id) => !socket.data.subscriptions.has(id));
    if (socket.data.subscriptions.size + added.length > MAX_SUBSCRIPTIONS_PER_SOCKET) {
      return this.refused(
        socket,
        'subscribe',
        ackError('too_many_subscriptions', `a socket may hold at most ${MAX_SUBSCRIPTIONS_PER_SOCKET} subscriptions`),
      );
    }
    if (added.length > 0 && !this.subscribeRate.allow(socket.data.address, Date.now(), added.length)) {
      return this.refused(
        socket,
        'subscribe',
        ackError('rate_limited', `over ${this.config.subscribeRatePerAddress} new subscriptions per second from this address`),
      );
    }
    if (!this.perAddress.reserve(socket.data.address, added.length)) {
      return this.refused(
        socket,
        'subscribe',
        ackError('too_many_subscriptions', `an address may hold at most ${this.config.subscriptionsPerAddress} subscriptions on a pod`),
      );
    }
    for (const id of added) socket.data.subscriptions.add(id);
    if (added.length > 0) await this.turns.take(socket.data.address);
    // Gone meanwhile: the disconnect gave its subscriptions back, and no one is left to answer.
    if (!socket.connected) return ackError('unavailable', 'the connection closed');
    // Join before reading the snapshot: an event racing the read still arrives, and the client keeps
    // whichever of the two carries the higher version.
    socket.join(added.map(streamerRoom));
    try {
      // In Redis mode the pod subscribes to a room's channel when its first socket joins; the snapshot
      // is read only once that subscription is in force, so no event falls between the two.
      // Not in force within the wait: events published to those channels meanwhile miss this pod. The
      // socket is told `resync` once they are (RELIABILITY, finding 25).
      if (added.length > 0 && !(await this.subscriptionsSettled())) {
        this.fenceLog.write('subscribe-before-channels', { msg: 'subscribe answered before its channels were in force', channels: added.length, pod: this.config.podId }, Date.now(), 'warn');
        this.answeredEarly.add(socket);
      }
      return { ok: true, presence: await this.presence.snapshot(ids) };
    } catch (error) {
      // Undone here alone: the socket's later requests wait for this answer.
      for (const id of added) {
        if (!socket.data.subscriptions.delete(id)) continue;
        this.perAddress.release(socket.data.address, 1);
        socket.leave(streamerRoom(id));
      }
      return this.refused(socket, 'subscribe', unavailable(error));
    }
  }

  private unsubscribeNow(socket: ViewerSocket, payload: unknown): UnsubscribeAck {
    const parsed = parseStreamerIds(payload);
    if (!parsed.ok) return this.refused(socket, 'unsubscribe', parsed);
    for (const id of new Set(parsed.value.streamerIds)) {
      if (!socket.data.subscriptions.delete(id)) continue;
      this.perAddress.release(socket.data.address, 1);
      socket.leave(streamerRoom(id));
    }
    return { ok: true };
  }

  private refused<T extends AckError>(socket: Socket, event: string, ack: T): T {
    const streamerId = (socket.data.identity as { id?: string } | null | undefined)?.id;
    return refusal(this.metrics, { pod: this.config.podId, socketId: socket.id, streamerId, event }, ack);
  }
}
