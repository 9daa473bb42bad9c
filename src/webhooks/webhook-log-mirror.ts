import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { OutageLog } from '../logging/outage-log.js';
import { PodDirectory } from '../presence/application/pod-directory.js';
import { readLogPages } from '../presence/application/log-pages.js';
import { RecoverySteps } from '../presence/application/recovery-steps.js';
import { compareIds, idBefore, type LogEntry } from '../presence/domain/transition-log.js';
import type { TransitionLog } from '../presence/domain/transition-log.port.js';
import { WEBHOOK_LOG, WEBHOOKS_GROUP, WebhookDispatcher } from './webhook-dispatcher.js';

/** How often the copy reads what was appended, and drops what the webhook group acknowledged. */
const TAIL_EVERY_MS = 500;
const PRUNE_EVERY_MS = 1_000;
const PAGE = 1_000;
/**
 * Entries kept at most (about 300 bytes each); the oldest go first. Past it, a receiver outage long
 * enough to fill it and a Redis that restarts empty in the same minutes lose the oldest webhooks.
 * @default 100000
 */
export const MIRROR_MAX = 100_000;

/**
 * A copy, in this pod's memory, of every entry of the transition log that the webhook group has not
 * acknowledged yet. Redis holds the only other copy: when it restarts empty, the log is gone, and so are
 * the webhooks no pod held (those waiting behind a receiver outage, those a pod held when it was
 * killed). A few pods keep this copy (PodDirectory.keepsLog; each reads the whole log), and when Redis is back, before
 * the pod re-asserts anything, appends again what the log lost (`TransitionLog.restore`, once across
 * the pods). A repeat the receiver already had carries the same `webhook-id`.
 */
@Injectable()
export class WebhookLogMirror implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookLogMirror.name);
  private readonly outage = new OutageLog(this.logger, 'webhook log copy not read; retrying', 'webhook log copy read again');
  /** Per shard, in id order. */
  private held: LogEntry[][] = [];
  private position: (string | null)[] | null = null;
  private count = 0;
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    @Inject(WEBHOOK_LOG) private readonly log: TransitionLog,
    private readonly recovery: RecoverySteps,
    private readonly pods: PodDirectory,
    private readonly dispatcher: WebhookDispatcher,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.recovery.addBeforeReassert(() => this.restoreLost());
    this.running = true;
    this.loop = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    let prunedAt = 0;
    while (this.running) {
      try {
        if (!this.pods.keepsLog()) {
          // Only a few pods keep the copy (LOG_KEEPERS); one that stops being one holds nothing.
          this.held = [];
          this.count = 0;
          this.position = null;
        } else if (this.position === null || this.position.length !== this.log.shardCount) await this.start();
        if (this.position === null) {
          await sleep(TAIL_EVERY_MS);
          continue;
        }
        await this.tail();
        if (Date.now() - prunedAt >= PRUNE_EVERY_MS) {
          await this.prune();
          prunedAt = Date.now();
        }
        this.outage.succeeded();
      } catch (error) {
        this.outage.failed(error);
      }
      await sleep(TAIL_EVERY_MS);
    }
  }

  /** From where the group has acknowledged everything (the start of the log when it has not read yet). */
  private async start(): Promise<void> {
    const below = await this.log.acknowledgedBelow(WEBHOOKS_GROUP);
    this.position = below.map((id) => (id === null ? null : idBefore(id)));
    this.held = below.map(() => []);
    this.count = 0;
  }

  private async tail(): Promise<void> {
    await readLogPages(this.log, this.position!, PAGE, (shards) => {
      for (const [shard, entries] of shards.entries()) {
        this.held[shard]!.push(...entries);
        this.count += entries.length;
      }
      this.bound();
    }, { goOn: () => this.running });
  }

  /** Drops, oldest first across shards, what is past MIRROR_MAX. */
  private bound(): void {
    while (this.count > MIRROR_MAX) {
      const oldest = this.held.reduce((best, entries, shard) => (entries.length > 0 && (best === -1 || compareIds(entries[0]!.id, this.held[best]![0]!.id) < 0) ? shard : best), -1);
      this.held[oldest]!.shift();
      this.count -= 1;
    }
  }

  private async prune(): Promise<void> {
    // Past the retention the dispatcher dead-letters an entry: no copy is needed.
    const expired = Date.now() - this.config.eventLogRetentionMs;
    for (const [shard, entries] of this.held.entries()) {
      const kept = entries.filter((entry) => entry.at >= expired);
      this.count -= entries.length - kept.length;
      this.held[shard] = kept;
    }
    // Redis may have lost its data since the last read, and the recovery not have appended the copy
    // again yet: the group's positions are then those of a new log, past every copied entry, and
    // pruning by them would drop the copy. A shard whose oldest copy the log lacks is left as it is.
    const [below, lost] = await Promise.all([this.log.acknowledgedBelow(WEBHOOKS_GROUP), this.lostShards(this.held)]);
    for (const [shard, id] of below.entries()) {
      const entries = this.held[shard];
      if (id === null || entries === undefined || lost[shard]) continue;
      const kept = entries.filter((entry) => compareIds(entry.id, id) >= 0);
      this.count -= entries.length - kept.length;
      this.held[shard] = kept;
    }
  }

  /**
   * Per shard, whether the log no longer has the oldest of `copies` (each shard's in id order). The log
   * keeps entries by age, so when the oldest is still there, so is the rest.
   */
  private async lostShards(copies: ReadonlyArray<readonly LogEntry[] | undefined>): Promise<boolean[]> {
    const oldest = Array.from({ length: copies.length }, (_, shard) => copies[shard]?.[0]?.id ?? null);
    if (oldest.every((id) => id === null)) return oldest.map(() => false);
    const { shards } = await this.log.readAfter(oldest.map((id) => (id === null ? null : idBefore(id))), 1);
    return oldest.map((id, shard) => id !== null && shards[shard]?.[0]?.id !== id);
  }

  /**
   * After an outage: appends again whatever the log no longer has of the copy and of what this pod's
   * dispatcher holds. The copy is read every TAIL_EVERY_MS, so it lacks the entries appended just
   * before the loss; the dispatcher read those within milliseconds, and without them a streamer that
   * ended in that moment would be settled offline a second time (lost-streamers.ts).
   */
  async restoreLost(): Promise<void> {
    const copies = this.held.map((entries) => [...entries]);
    for (const entry of this.dispatcher.heldEntries()) (copies[entry.shard] ??= []).push(entry);
    const perShard = Array.from({ length: copies.length }, (_, shard) => uniqueInIdOrder(copies[shard] ?? []));
    const lost = await this.lostShards(perShard);
    const entries = perShard.filter((_, shard) => lost[shard]).flat();
    if (entries.length === 0) return;
    const restored = await this.log.restore(entries);
    if (restored > 0) this.logger.warn({ msg: 'webhooks the log had lost appended again', count: restored, copies: entries.length, pod: this.config.podId });
    // What was appended again (here or by another pod) comes back through the tail, under new ids.
    for (const [shard, isLost] of lost.entries()) {
      if (!isLost || this.held[shard] === undefined) continue;
      this.count -= this.held[shard].length;
      this.held[shard] = [];
    }
  }
}

function uniqueInIdOrder(entries: readonly LogEntry[]): LogEntry[] {
  const byId = new Map(entries.map((entry) => [entry.id, entry]));
  return [...byId.values()].sort((a, b) => compareIds(a.id, b.id));
}
