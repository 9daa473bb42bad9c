import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PresenceEvent } from '../presence/domain/presence-state.js';

/**
 * The Prometheus metrics of this pod, in a registry of its own (not prom-client's global one, so two
 * apps in one test process never share counters). Pod identity comes from the scrape target's labels.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly connections = new Gauge({
    name: 'presence_connections',
    help: 'Open Socket.IO connections on this pod, by namespace',
    labelNames: ['namespace'] as const,
    registers: [this.registry],
  });

  readonly onlineStreamers = new Gauge({
    name: 'presence_online_streamers',
    help: 'Streamers online cluster-wide, as the store counts them at scrape time',
    registers: [this.registry],
  });

  readonly heartbeats = new Counter({
    name: 'presence_heartbeats_total',
    help: 'Heartbeats received on this pod (connects not included)',
    registers: [this.registry],
  });

  readonly events = new Counter({
    name: 'presence_events_total',
    help: 'Presence events this pod published, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly refusals = new Counter({
    name: 'presence_refusals_total',
    help: 'Refused handshakes and messages, by error code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly offlineLag = new Histogram({
    name: 'presence_offline_lag_seconds',
    help: 'How long after its deadline (last heartbeat + TTL, or close + grace) an offline event went out',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  recordEvent(event: PresenceEvent, publishedAt: number): void {
    this.events.inc({ reason: event.reason });
    if (event.reason === 'timeout' || event.reason === 'disconnected') {
      this.offlineLag.observe(Math.max(0, publishedAt - event.since) / 1000);
    }
  }
}
