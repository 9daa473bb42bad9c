import { Inject, Injectable, Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'socket.io';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { Readiness } from '../health/readiness.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PresenceService } from '../presence/application/presence.service.js';
import { DashboardGateway } from '../presence/transport/dashboard.gateway.js';
import { StreamerGateway } from '../presence/transport/streamer.gateway.js';
import { ViewerGateway } from '../presence/transport/viewer.gateway.js';

const STEP_MS = 100;

/**
 * SIGTERM: stop taking traffic and hand this pod's clients to the others without a reconnect storm.
 * Readiness fails at once and new handshakes are refused; then the open sockets are closed at an even
 * rate over DRAIN_MS, a batch every STEP_MS. Each is closed at the transport, which stock Socket.IO
 * clients answer by reconnecting (a server-side namespace disconnect would make them give up). A
 * streamer that reconnects to another pod within the grace causes no event: its old lease is still live.
 */
@Injectable()
export class DrainService {
  private readonly logger = new Logger(DrainService.name);

  constructor(
    private readonly readiness: Readiness,
    private readonly streamers: StreamerGateway,
    private readonly viewers: ViewerGateway,
    private readonly dashboards: DashboardGateway,
    private readonly presence: PresenceService,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async drain(): Promise<void> {
    this.readiness.startDraining();
    const sockets = this.openSockets();
    const steps = Math.max(1, Math.floor(this.config.drainMs / STEP_MS));
    const pod = this.config.podId;
    this.logger.log({ msg: 'draining', sockets: sockets.length, drainMs: this.config.drainMs, steps, pod });
    this.metrics.drainRemaining.set(sockets.length);
    // At an even rate over DRAIN_MS, however few the sockets: by step k, k/steps of them are closed, so
    // one goes every DRAIN_MS/n (the first at once). Batches of ceil(n/steps) ended early: 101 sockets
    // over a 10 s drain went in 5 s, 6 in half a second, so the other pods took them at up to twice (or
    // twenty times) the rate DRAIN_MS was set for. Each step is due at its own time from the start, so
    // slow batches and late timers do not add up past DRAIN_MS.
    const startedAt = Date.now();
    let closed = 0;
    for (let step = 1; ; step += 1) {
      const due = Math.ceil((step * sockets.length) / steps);
      const batch = sockets.slice(closed, due);
      for (const socket of batch) socket.conn.close();
      closed = due;
      // Still open, that is: a client may close its socket before its turn. When none is, the drain is done.
      const remaining = sockets.slice(closed).filter((socket) => socket.connected).length;
      this.metrics.drainRemaining.set(remaining);
      if (batch.length > 0) this.logger.log({ msg: 'drain step', closed: batch.length, remaining, pod });
      if (remaining === 0) break;
      await sleep(Math.max(0, startedAt + step * STEP_MS - Date.now()));
    }
    await this.presence.settled(2_000);
    this.logger.log({ msg: 'drained', sockets: sockets.length, pod });
  }

  private openSockets(): Socket[] {
    const namespaces = [this.streamers.namespace, this.viewers.namespace, this.dashboards.namespace];
    return namespaces.flatMap((namespace) => (namespace === null ? [] : [...namespace.sockets.values()]));
  }
}
