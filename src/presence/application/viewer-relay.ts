import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/app-config.js';
import { OutageLog } from '../../logging/outage-log.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import type { LogEntry } from '../domain/transition-log.js';
import type { TransitionLog } from '../domain/transition-log.port.js';
import { PRESENCE_PUBLISHER, PUBLISH_FENCE, TRANSITION_LOG } from './injection-tokens.js';
import type { PresencePublisher } from './presence-publisher.port.js';

/** The consumer group of the viewer relays: every entry of the log is delivered to viewers by one pod. */
export const VIEWERS_GROUP = 'viewers';
/**
 * Entries per shard per read. Small, so that a burst (a mass timeout) is shared out among the pods'
 * relays instead of being taken, and published, by the one that woke first.
 */
const BATCH = 32;
/** How long a read waits for new entries; also how long a shutdown may wait for the loop to notice. */
const BLOCK_MS = 500;
/** Entries another pod took and left unacknowledged this long are taken over: it died or stalled. */
export const STALLED_AFTER_MS = 2_000;
const TAKE_OVER_EVERY_MS = 1_000;
const PAUSE_AFTER_ERROR_MS = 250;

/**
 * Delivers the transition log to viewers (and the dashboard) on every pod. Each pod's relay is a
 * consumer of one group: an entry is taken by one pod, which emits it through the Socket.IO adapter
 * (to the streamer's room on every pod), waits until the emit has left for Redis (the publish fence),
 * and only then acknowledges it. Entries a pod took and never acknowledged (it died, or stalled past
 * STALLED_AFTER_MS) are taken over by another: delivery is at least once, and a repeat carries the same
 * version, which clients drop.
 *
 * The events come from the log, not from whoever called the store: a pod whose store call timed out,
 * or that died right after it, loses nothing.
 */
@Injectable()
export class ViewerRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ViewerRelay.name);
  private running = false;
  private loop: Promise<void> | null = null;
  private takeOverTimer: NodeJS.Timeout | null = null;
  private readonly outage = new OutageLog(this.logger, 'viewer relay failing; retrying', 'viewer relay delivering again');
  private sweeping = false;

  constructor(
    @Inject(TRANSITION_LOG) private readonly log: TransitionLog,
    @Inject(PRESENCE_PUBLISHER) private readonly publisher: PresencePublisher,
    @Inject(PUBLISH_FENCE) private readonly published: () => Promise<void>,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get shards(): number[] {
    return Array.from({ length: this.log.shardCount }, (_, shard) => shard);
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.loop = this.run();
    this.takeOverTimer = setInterval(() => void this.takeOverStalled(), TAKE_OVER_EVERY_MS);
    this.takeOverTimer.unref();
  }

  /** Stops taking entries; what was taken is delivered and acknowledged first. */
  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    if (this.takeOverTimer !== null) clearInterval(this.takeOverTimer);
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        const entries = await this.log.takeNew(VIEWERS_GROUP, this.config.podId, this.shards, BATCH, BLOCK_MS);
        if (entries.length > 0 && this.config.faultInjection === 'relay-exit-before-ack') {
          // Test-only (FAULT_INJECTION): die holding entries, before acknowledging them.
          this.logger.warn({ msg: 'fault injection: exiting before acknowledging', entries: entries.length });
          process.kill(process.pid, 'SIGKILL');
        }
        await this.deliver(entries);
        this.outage.succeeded();
      } catch (error) {
        this.outage.failed(error);
        await sleep(PAUSE_AFTER_ERROR_MS);
      }
    }
  }

  /** Entries of pods that died or stalled, delivered here; one sweep at a time, through each shard's whole pending list. */
  private async takeOverStalled(): Promise<void> {
    if (!this.running || this.sweeping) return;
    this.sweeping = true;
    try {
      for (const shard of this.shards) {
        let cursor = '0-0';
        do {
          const { entries, lost, next } = await this.log.takeOver(VIEWERS_GROUP, this.config.podId, shard, STALLED_AFTER_MS, BATCH, cursor);
          if (lost > 0) this.logger.warn({ msg: 'entries trimmed from the log before delivery', shard, lost });
          if (entries.length > 0) {
            this.logger.log({ msg: 'took over stalled entries', shard, entries: entries.length, pod: this.config.podId });
            await this.deliver(entries);
          }
          cursor = next;
        } while (cursor !== '0-0' && this.running);
      }
    } catch (error) {
      this.outage.failed(error);
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Publishes the entries and acknowledges them. One appended again after the log lost it, which the
   * relays had delivered before (`viewersHad`), is acknowledged without being sent again: the pods whose
   * subscriptions were down when it was first sent replay it themselves (redis-recovery.ts).
   */
  private async deliver(entries: readonly LogEntry[]): Promise<void> {
    if (entries.length === 0) return;
    for (const { event, at, pod, viewersHad } of entries) {
      if (viewersHad !== undefined) continue;
      this.publisher.publish(event);
      this.metrics.recordEvent(event, at);
      const { streamerId, status, reason, since, version } = event;
      this.logger.log({ msg: 'transition', streamerId, status, reason, since, version, decidedBy: pod, pod: this.config.podId });
    }
    // Acknowledged only once the emits have left this pod: if that fails, they are delivered again.
    await this.published();
    await this.log.ack(VIEWERS_GROUP, entries);
  }
}
