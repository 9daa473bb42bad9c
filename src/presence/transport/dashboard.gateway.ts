import { Inject, Logger } from '@nestjs/common';
import { type OnGatewayConnection, type OnGatewayInit, WebSocketGateway } from '@nestjs/websockets';
import type { Namespace, Socket } from 'socket.io';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/app-config.js';
import { TokenVerifier } from '../../auth/token-verifier.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { SUBSCRIPTION_FENCE } from '../application/injection-tokens.js';
import type { DashboardServerEvents } from './event-maps.js';
import { onePerNamespace } from './connection-guard.js';
import { authenticate, rateLimit } from './socket-middlewares.js';
import { DASHBOARD_ROOM, ViewerBroadcaster } from './viewer-broadcaster.js';

/**
 * `/dashboard` (beyond the contract): the operators' page receives every presence event, to discover
 * streamers that come online without watching their ids first. Read-only, for `operator` tokens only
 * (every transition, meta included, is not for anonymous eyes). Its sockets share one room, so in Redis
 * mode only pods with a dashboard open subscribe to it. The firehose is emitted volatile: a socket that
 * does not keep up misses events (the page re-reads the list on `ready`) instead of growing the heap.
 */
@WebSocketGateway({ namespace: '/dashboard' })
export class DashboardGateway implements OnGatewayInit, OnGatewayConnection {
  private readonly logger = new Logger(DashboardGateway.name);
  namespace: Namespace | null = null;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly metrics: MetricsService,
    private readonly broadcaster: ViewerBroadcaster,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(SUBSCRIPTION_FENCE) private readonly subscriptionsSettled: () => Promise<void>,
  ) {}

  afterInit(namespace: Namespace<Record<string, never>, DashboardServerEvents>): void {
    this.namespace = namespace as unknown as Namespace;
    namespace.use(authenticate(this.verifier, ['operator'], { anonymous: false, pod: this.config.podId }, this.metrics));
    namespace.use(onePerNamespace());
    namespace.on('connection', rateLimit(this.config.messageRateLimit, this.metrics, this.config.podId));
    this.broadcaster.attachDashboard(namespace);
  }

  /** `ready` tells the page its events flow, so the list it reads next misses nothing. */
  async handleConnection(socket: Socket<Record<string, never>, DashboardServerEvents>): Promise<void> {
    socket.join(DASHBOARD_ROOM);
    await this.subscriptionsSettled();
    socket.emit('ready');
    this.logger.log({ msg: 'dashboard connected', socketId: socket.id, pod: this.config.podId });
  }
}
