import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PresenceEvent } from '../presence/domain/presence-state.js';
import type { GroupBacklog } from '../presence/domain/transition-log.port.js';
import { registerProcessHandleGauges } from './process-handle-gauges.js';

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

  // Heartbeats are tallied in a plain number and handed to the counter when it is read (prom-client calls
  // `collect` at each scrape): prom-client's `inc()` on every heartbeat was 0.2 µs of its CPU (profile of
  // the `npm run bench` heartbeat loop).
  private heartbeatsUncollected = 0;

  readonly heartbeats: Counter = new Counter({
    name: 'presence_heartbeats_total',
    help: 'Heartbeats received on this pod (connects not included)',
    registers: [this.registry],
    collect: () => {
      this.heartbeats.inc(this.heartbeatsUncollected);
      this.heartbeatsUncollected = 0;
    },
  });

  /** One heartbeat received (presence_heartbeats_total). */
  countHeartbeat(): void {
    this.heartbeatsUncollected += 1;
  }

  readonly events = new Counter({
    name: 'presence_events_total',
    help: 'Presence events this pod relayed from the transition log to viewers, by reason',
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

  readonly fanoutLatency = new Histogram({
    name: 'presence_fanout_latency_seconds',
    help: 'From the store deciding an event to this pod emitting it to a subscribed viewer socket',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'presence_event_deliveries_total',
    help: 'Presence events emitted to viewer sockets on this pod (one per socket)',
    registers: [this.registry],
  });

  readonly adapterMessages = new Counter({
    name: 'presence_adapter_messages_received_total',
    help: 'Messages this pod received from other pods through the Socket.IO Redis adapter',
    registers: [this.registry],
  });

  readonly storeLatency = new Histogram({
    name: 'presence_store_command_seconds',
    help: 'Duration of presence store calls to Redis, by operation (retries included)',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: 'presence_store_errors_total',
    help: 'Presence store calls to Redis that failed after their retry, by operation',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly drainRemaining = new Gauge({
    name: 'presence_drain_sockets_remaining',
    help: 'While draining: sockets still open that this pod has yet to close (0 when not draining)',
    registers: [this.registry],
  });

  readonly webhookAttempts = new Counter({
    name: 'presence_webhook_attempts_total',
    help: 'Webhook delivery attempts this pod made, by outcome (delivered: a 2xx in time; failed: anything else)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookDeadLetters = new Counter({
    name: 'presence_webhook_dead_letters_total',
    help: 'Webhooks given up on after EVENT_LOG_RETENTION_MS without a 2xx',
    registers: [this.registry],
  });

  readonly webhookHeld = new Gauge({
    name: 'presence_webhook_held_entries',
    help: 'Transitions this pod holds in memory for webhook delivery (at most its window; the rest wait in the log)',
    registers: [this.registry],
  });

  private webhookBacklogSource: (() => Promise<GroupBacklog>) | null = null;
  private backlogRead: { at: number; value: Promise<GroupBacklog | null> } | null = null;

  readonly webhookBacklog = new Gauge({
    name: 'presence_webhook_backlog',
    help: 'Transitions not yet acknowledged by the webhook receiver, cluster-wide, read from the log at scrape time',
    registers: [this.registry],
    collect: async () => {
      const backlog = await this.readWebhookBacklog();
      if (backlog !== null) this.webhookBacklog.set(backlog.undelivered);
    },
  });

  readonly webhookOldestAge = new Gauge({
    name: 'presence_webhook_oldest_undelivered_seconds',
    help: 'Age of the oldest transition the webhook receiver has not acknowledged (0 when none)',
    registers: [this.registry],
    collect: async () => {
      const backlog = await this.readWebhookBacklog();
      if (backlog !== null) this.webhookOldestAge.set(backlog.oldestAt === null ? 0 : Math.max(0, Date.now() - backlog.oldestAt) / 1000);
    },
  });

  /** `pod` becomes a label of every metric, so one dashboard shows each pod apart. */
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.registry.setDefaultLabels({ pod: config.podId });
    collectDefaultMetrics({ register: this.registry });
    registerProcessHandleGauges(this.registry);
  }

  /** Where the webhook backlog gauges read from, when webhooks are on. */
  watchWebhookBacklog(source: () => Promise<GroupBacklog>): void {
    this.webhookBacklogSource = source;
  }

  /** One read of the log per scrape, shared by the two gauges that show it. */
  private async readWebhookBacklog(): Promise<GroupBacklog | null> {
    if (this.webhookBacklogSource === null) return null;
    if (this.backlogRead === null || Date.now() - this.backlogRead.at > 1_000) {
      this.backlogRead = { at: Date.now(), value: this.webhookBacklogSource().catch(() => null) };
    }
    return this.backlogRead.value;
  }

  /** The store's observer: how long each call took, and whether it failed. */
  readonly observeStore = (operation: string, seconds: number, failed: boolean): void => {
    this.storeLatency.observe({ operation }, seconds);
    if (failed) this.storeErrors.inc({ operation });
  };

  recordEvent(event: PresenceEvent, publishedAt: number): void {
    this.events.inc({ reason: event.reason });
    if (event.reason === 'timeout' || event.reason === 'disconnected') {
      this.offlineLag.observe(Math.max(0, publishedAt - event.since) / 1000);
    }
  }
}
