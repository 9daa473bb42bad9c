import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { OutageLog } from '../logging/outage-log.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ShardOwnership } from '../presence/domain/shard-ownership.port.js';
import type { TransitionLog } from '../presence/domain/transition-log.port.js';
import type { LogEntry } from '../presence/domain/transition-log.js';
import { WEBHOOK_DELIVERIES } from '../presence/application/injection-tokens.js';
import type { WebhookDelivery, WebhookDeliveries } from './webhook-deliveries.port.js';
import { WebhookChains } from './webhook-chains.js';
import { webhookMessage } from './webhook-message.js';
import { DELIVERY_TIMEOUT_MS, type WebhookSender } from './webhook-sender.js';
import { ViewersDelivered } from './viewers-delivered.js';

export const WEBHOOKS_GROUP = 'webhooks';
export const WEBHOOK_LOG = Symbol('WebhookLog');
export const WEBHOOK_OWNERSHIP = Symbol('WebhookOwnership');
export const WEBHOOK_SENDER = Symbol('WebhookSender');

/**
 * Entries one pod reads into memory at most (plus, once, what it takes over from a pod that died, itself
 * at most this many): while the receiver is down the backlog stays in the log, not in the heap.
 */
export const WINDOW = 500;
const MAX_CONCURRENT = 16;
const BLOCK_MS = 500;
const REFRESH_EVERY_MS = 1_000;
/** A pod that dies or stalls loses its shards this long after its last renewal. */
export const LEASE_TTL_MS = 5_000;
/**
 * Pending entries idle this long are read back from the log, in case this pod lost track of them (a
 * read whose reply never came, a failed ack). Longer than a delivery attempt, so an entry being sent
 * is not taken for lost.
 */
const RECLAIM_IDLE_MS = DELIVERY_TIMEOUT_MS + 5_000;
const RECLAIM_EVERY_MS = 5_000;
const PAUSE_MS = 250;
const TAKE_OVER_BATCH = 100;

/**
 * Sends every transition to WEBHOOK_URL, from the transition log, by one pod per log shard at a time (a
 * lease; see `WebhookChains` for the per-streamer order, retries and dead letters). An entry is
 * acknowledged in the log only once the receiver answered 2xx, or it was dead-lettered. The pending
 * entries of a shard are always read back before new ones: when the shard is taken over from another
 * pod, and after a read of this pod's own whose reply was lost. So a streamer's older entry is never
 * overtaken by a newer one, and a pod's death or a lost reply costs a repeat (the same `webhook-id`),
 * never an event.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly chains: WebhookChains;
  private owned: number[] = [];
  private running = false;
  private loop: Promise<void> | null = null;
  private readonly outage = new OutageLog(this.logger, 'webhook dispatcher failing; retrying', 'webhook dispatcher reading the log again');
  /** A read failed after it may have taken entries: read this pod's pending entries back before any new one. */
  private mustReclaim = false;

  constructor(
    @Inject(WEBHOOK_LOG) private readonly log: TransitionLog,
    @Inject(WEBHOOK_OWNERSHIP) private readonly ownership: ShardOwnership,
    @Inject(WEBHOOK_SENDER) sender: WebhookSender,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(WEBHOOK_DELIVERIES) private readonly deliveries: WebhookDeliveries,
    private readonly viewersDelivered: ViewersDelivered,
  ) {
    this.chains = new WebhookChains({
      send: (entry) => sender.send(webhookMessage(entry.event, entry.at), Date.now()),
      ack: (entry) => this.log.ack(WEBHOOKS_GROUP, [entry]),
      mayDeliver: (shard) => this.ownership.holds(shard),
      onAttempt: (entry, delivered, attempts) => {
        this.metrics.webhookAttempts.inc({ outcome: delivered ? 'delivered' : 'failed' });
        this.recordOutcome(entry, delivered ? 'delivered' : 'retrying', attempts);
      },
      onDeadLetter: (entry, attempts) => {
        this.metrics.webhookDeadLetters.inc();
        this.recordOutcome(entry, 'dead_lettered', attempts);
        const { streamerId, version, reason } = entry.event;
        this.logger.warn({ msg: 'webhook dead-lettered', webhookId: `${streamerId}:${version}`, reason, attempts, pod: this.config.podId });
      },
      onHeldChanged: (held) => this.metrics.webhookHeld.set(held),
      retentionMs: config.eventLogRetentionMs,
      maxConcurrent: MAX_CONCURRENT,
    });
  }

  /**
   * The entries this pod holds for delivery. While its window has room they are read within
   * milliseconds of being appended (a blocking read): then they are the freshest copy a pod has when
   * Redis restarts empty (webhook-log-mirror.ts).
   */
  heldEntries(): LogEntry[] {
    return this.chains.entries();
  }

  /** For the console; best effort, never in the way of a delivery. */
  private recordOutcome(entry: LogEntry, status: WebhookDelivery['status'], attempts: number): void {
    const { streamerId, version, reason } = entry.event;
    void this.deliveries.record({ streamerId, version, reason, status, attempts, at: Date.now(), pod: this.config.podId }).catch(() => undefined);
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.metrics.watchWebhookBacklog(() => this.log.backlog(WEBHOOKS_GROUP));
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.loop;
    this.chains.stop();
    await this.ownership.releaseAll().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let refreshedAt = 0;
    let reclaimedAt = Date.now();
    while (this.running) {
      try {
        if (Date.now() - refreshedAt >= REFRESH_EVERY_MS) {
          await this.refreshOwnership();
          refreshedAt = Date.now();
        }
        if (this.mustReclaim || Date.now() - reclaimedAt >= RECLAIM_EVERY_MS) {
          for (const shard of this.owned) await this.readPending(shard, this.mustReclaim ? 0 : RECLAIM_IDLE_MS);
          this.mustReclaim = false;
          reclaimedAt = Date.now();
        }
        await this.chains.retryAcks();
        // A read takes up to its count from EACH shard: share the room out, so the window holds.
        const perShard = this.owned.length === 0 ? 0 : Math.floor((WINDOW - this.chains.held) / this.owned.length);
        if (perShard < 1) {
          await sleep(PAUSE_MS);
          continue;
        }
        try {
          for (const entry of await this.log.takeNew(WEBHOOKS_GROUP, this.config.podId, this.owned, perShard, BLOCK_MS)) this.chains.hold(entry);
        } catch (error) {
          this.mustReclaim = true; // it may have run in Redis, its reply lost
          throw error;
        }
        this.outage.succeeded();
      } catch (error) {
        this.outage.failed(error);
        await sleep(PAUSE_MS);
      }
    }
  }

  /** Keeps the leases; drops what a lost shard held; reads back everything pending of a shard just taken. */
  private async refreshOwnership(): Promise<void> {
    const before = new Set(this.owned);
    this.owned = await this.ownership.refresh((shard) => this.chains.heldIn(shard) === 0);
    for (const shard of before) {
      if (this.owned.includes(shard)) continue;
      this.logger.warn({ msg: 'webhook shard lost', shard, pod: this.config.podId });
      // Its new owner reads what this pod held from the log, unless the log lost it (Redis restarted
      // empty): then it is appended again first, so the new owner delivers it (a repeat at worst).
      const held = this.chains.entriesIn(shard);
      const marks = this.viewersDelivered.marksOf(held);
      const restored = await this.log.restore(held, (entry) => marks.get(entry)).catch(() => 0);
      if (restored > 0) this.logger.warn({ msg: 'webhooks the log had lost appended again for the new owner of their shard', shard, count: restored, viewersHad: marks.size, pod: this.config.podId });
      this.chains.dropShard(shard);
    }
    for (const shard of this.owned) {
      if (before.has(shard)) continue;
      this.logger.log({ msg: 'webhook shard taken', shard, pod: this.config.podId });
      await this.readPending(shard, 0);
    }
  }

  /** Every entry of `shard` pending in the group for `minIdleMs`, whoever took it, into the chains (held ones are skipped). */
  private async readPending(shard: number, minIdleMs: number): Promise<void> {
    let cursor = '0-0';
    do {
      const { entries, lost, next } = await this.log.takeOver(WEBHOOKS_GROUP, this.config.podId, shard, minIdleMs, TAKE_OVER_BATCH, cursor);
      if (lost > 0) {
        this.metrics.webhookDeadLetters.inc(lost);
        this.logger.warn({ msg: 'webhooks dead-lettered: trimmed from the log before delivery', shard, count: lost, pod: this.config.podId });
      }
      for (const entry of entries) this.chains.hold(entry);
      cursor = next;
    } while (cursor !== '0-0' && this.running);
  }
}
