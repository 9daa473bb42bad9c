import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ShardOwnership } from '../presence/domain/shard-ownership.port.js';
import type { LogEntry } from '../presence/domain/transition-log.js';
import type { TransitionLog } from '../presence/domain/transition-log.port.js';
import { retryDelayMs } from './retry-backoff.js';
import { webhookMessage } from './webhook-message.js';
import type { WebhookSender } from './webhook-sender.js';

export const WEBHOOKS_GROUP = 'webhooks';
export const WEBHOOK_LOG = Symbol('WebhookLog');
export const WEBHOOK_OWNERSHIP = Symbol('WebhookOwnership');
export const WEBHOOK_SENDER = Symbol('WebhookSender');

/** Entries held in memory at most: while the receiver is down the backlog stays in the log, not the heap. */
export const WINDOW = 500;
/** HTTP requests in flight at most. */
const MAX_CONCURRENT = 16;
const BLOCK_MS = 500;
const REFRESH_EVERY_MS = 1_000;
/** A pod that dies or stalls loses its shards this long after its last renewal. */
export const LEASE_TTL_MS = 5_000;
const PAUSE_MS = 250;

/** One streamer's undelivered entries, in version order: only the first is ever being sent. */
interface Chain {
  readonly entries: LogEntry[];
  retries: number;
  timer: NodeJS.Timeout | null;
}

/**
 * Sends every transition to WEBHOOK_URL, from the transition log, by one pod per shard (a lease): per
 * streamer in version order (a later event waits until the earlier one was acknowledged or
 * dead-lettered), streamers independent of each other, each failure retried with backoff until the
 * retention has passed, then dead-lettered. An entry is acknowledged in the log only once the receiver
 * answered 2xx (or it was dead-lettered); a pod that dies leaves its entries pending, and the pod that
 * takes its shards over sends them again (same `webhook-id`: receivers deduplicate).
 *
 * At most WINDOW entries are held in memory; the rest wait in the log.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly chains = new Map<string, Chain>();
  private readonly heldPerShard = new Map<number, number>();
  private held = 0;
  private owned: number[] = [];
  private inFlight = 0;
  private readonly waiting: Chain[] = [];
  private running = false;
  private loop: Promise<void> | null = null;
  private failing = false;

  constructor(
    @Inject(WEBHOOK_LOG) private readonly log: TransitionLog,
    @Inject(WEBHOOK_OWNERSHIP) private readonly ownership: ShardOwnership,
    @Inject(WEBHOOK_SENDER) private readonly sender: WebhookSender,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.running = true;
    this.metrics.watchWebhookBacklog(() => this.log.backlog(WEBHOOKS_GROUP));
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.loop;
    for (const chain of this.chains.values()) if (chain.timer !== null) clearTimeout(chain.timer);
    await this.ownership.releaseAll().catch(() => undefined);
  }

  private async run(): Promise<void> {
    let refreshedAt = 0;
    while (this.running) {
      try {
        if (Date.now() - refreshedAt >= REFRESH_EVERY_MS) {
          await this.refreshOwnership();
          refreshedAt = Date.now();
        }
        // A read takes up to its count from EACH shard: share the room out, so the window holds.
        const perShard = this.owned.length === 0 ? 0 : Math.floor((WINDOW - this.held) / this.owned.length);
        if (perShard < 1) {
          await sleep(PAUSE_MS);
          continue;
        }
        for (const entry of await this.log.takeNew(WEBHOOKS_GROUP, this.config.podId, this.owned, perShard, BLOCK_MS)) this.hold(entry);
        this.setFailing(false);
      } catch (error) {
        this.setFailing(true, error);
        await sleep(PAUSE_MS);
      }
    }
  }

  /** Keeps the leases; drops what a lost shard held; takes over what the previous owner of a new one left. */
  private async refreshOwnership(): Promise<void> {
    const before = new Set(this.owned);
    this.owned = await this.ownership.refresh((shard) => (this.heldPerShard.get(shard) ?? 0) === 0);
    for (const shard of before) if (!this.owned.includes(shard)) this.dropShard(shard);
    for (const shard of this.owned.filter((s) => !before.has(s))) {
      this.logger.log({ msg: 'webhook shard taken', shard, pod: this.config.podId });
      for (;;) {
        const room = WINDOW - this.held;
        if (room <= 0) break;
        const { entries, lost } = await this.log.takeOver(WEBHOOKS_GROUP, this.config.podId, shard, 0, room);
        if (lost > 0) {
          this.metrics.webhookDeadLetters.inc(lost);
          this.logger.warn({ msg: 'webhooks dead-lettered: trimmed from the log before delivery', shard, count: lost });
        }
        for (const entry of entries) this.hold(entry);
        if (entries.length === 0) break;
      }
    }
  }

  private hold(entry: LogEntry): void {
    const key = entry.event.streamerId;
    const chain = this.chains.get(key) ?? { entries: [], retries: 0, timer: null };
    this.chains.set(key, chain);
    // A repeat (taken over while this pod still held it) is already queued.
    if (chain.entries.some((held) => held.id === entry.id && held.shard === entry.shard)) return;
    chain.entries.push(entry);
    this.count(entry.shard, +1);
    if (chain.entries.length === 1) void this.attempt(chain);
  }

  private async attempt(chain: Chain): Promise<void> {
    chain.timer = null;
    const entry = chain.entries[0];
    if (entry === undefined || !this.running) return;
    if (Date.now() - entry.at >= this.config.eventLogRetentionMs) return this.deadLetter(chain, entry);
    if (this.inFlight >= MAX_CONCURRENT) {
      this.waiting.push(chain);
      return;
    }
    this.inFlight += 1;
    const delivered = await this.sender.send(webhookMessage(entry.event, entry.at), Date.now());
    this.inFlight -= 1;
    const next = this.waiting.shift();
    if (next !== undefined) void this.attempt(next);
    this.metrics.webhookAttempts.inc({ outcome: delivered ? 'delivered' : 'failed' });
    if (chain.entries[0] !== entry) return; // its shard was lost meanwhile
    if (delivered) {
      await this.log.ack(WEBHOOKS_GROUP, [entry]).catch((error: unknown) => this.setFailing(true, error));
      return this.advance(chain);
    }
    chain.retries += 1;
    const untilDeadLetter = entry.at + this.config.eventLogRetentionMs - Date.now();
    chain.timer = setTimeout(() => void this.attempt(chain), Math.max(0, Math.min(retryDelayMs(chain.retries, Math.random()), untilDeadLetter)));
  }

  private async deadLetter(chain: Chain, entry: LogEntry): Promise<void> {
    this.metrics.webhookDeadLetters.inc();
    const { streamerId, version, reason } = entry.event;
    this.logger.warn({ msg: 'webhook dead-lettered', webhookId: `${streamerId}:${version}`, reason, attempts: chain.retries + 1, pod: this.config.podId });
    await this.log.ack(WEBHOOKS_GROUP, [entry]).catch((error: unknown) => this.setFailing(true, error));
    this.advance(chain);
  }

  /** The chain's first entry is done: on to the next of the same streamer. */
  private advance(chain: Chain): void {
    const done = chain.entries.shift()!;
    this.count(done.shard, -1);
    chain.retries = 0;
    if (chain.entries.length > 0) void this.attempt(chain);
    else this.chains.delete(done.event.streamerId);
  }

  /** Another pod owns `shard` now and sends its entries: forget them here. */
  private dropShard(shard: number): void {
    this.logger.warn({ msg: 'webhook shard lost', shard, pod: this.config.podId });
    for (const [key, chain] of this.chains) {
      const kept = chain.entries.filter((entry) => entry.shard !== shard);
      if (kept.length === chain.entries.length) continue;
      if (chain.timer !== null) clearTimeout(chain.timer);
      this.count(shard, kept.length - chain.entries.length);
      chain.entries.splice(0, chain.entries.length, ...kept);
      chain.retries = 0;
      if (kept.length === 0) this.chains.delete(key);
      else void this.attempt(chain);
    }
  }

  private count(shard: number, delta: number): void {
    this.held += delta;
    this.heldPerShard.set(shard, (this.heldPerShard.get(shard) ?? 0) + delta);
    this.metrics.webhookHeld.set(this.held);
  }

  private setFailing(failing: boolean, error?: unknown): void {
    if (failing && !this.failing) this.logger.warn({ msg: 'webhook dispatcher failing; retrying', error: String(error) });
    if (!failing && this.failing) this.logger.log({ msg: 'webhook dispatcher reading the log again' });
    this.failing = failing;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
