import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { OutageLog } from '../logging/outage-log.js';
import { PodDirectory } from '../presence/application/pod-directory.js';
import { readLogPages } from '../presence/application/log-pages.js';
import { RECENT_APPENDS } from '../presence/application/injection-tokens.js';
import { RecoverySteps } from '../presence/application/recovery-steps.js';
import { compareIds, firstAtOrAfter, idBefore, type LogEntry } from '../presence/domain/transition-log.js';
import type { TransitionLog } from '../presence/domain/transition-log.port.js';
import { VIEWERS_GROUP } from '../presence/application/viewer-relay.js';
import { ViewersDelivered } from './viewers-delivered.js';
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
/** How far the viewer relays had got, remembered per shard: 10 minutes of moves at one read a second. */
const VIEWERS_CHECKPOINTS = 600;

/**
 * A copy, in this pod's memory, of every entry of the transition log that the webhook group has not
 * acknowledged yet. Redis holds the only other copy: when it restarts empty, the log is gone, and so are
 * the webhooks no pod held (those waiting behind a receiver outage, those a pod held when it was
 * killed). A few pods keep this copy (PodDirectory.keepsLog; each reads the whole log). When Redis is
 * back, before the pod re-asserts anything, every pod appends again what the log lost of its copy, of
 * what its dispatcher holds, and of what its own calls appended and its viewer relay took in the last
 * seconds (`TransitionLog.restore`, once across the pods). A repeat the receiver already had carries the
 * same `webhook-id`.
 */
@Injectable()
export class WebhookLogMirror implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookLogMirror.name);
  private readonly outage = new OutageLog(this.logger, 'webhook log copy not read; retrying', 'webhook log copy read again');
  /** Per shard, in id order. */
  private copies: LogEntry[][] = [];
  private position: (string | null)[] | null = null;
  private count = 0;
  /**
   * Per shard, how far the viewer relays had delivered: each time it moved on, the id below which they
   * had delivered every entry and when that was read, oldest first (VIEWERS_CHECKPOINTS at most). A copy
   * below one that the log loses goes back marked with that time (`LogEntry.viewersHad`), so the viewer
   * relays do not send it again: after a restart behind a receiver outage, that was every entry of the
   * outage to every viewer of its streamer, 175,000 repeats in the 30 s after the restart in the
   * full-scale soak, on a machine already short of CPU (RELIABILITY, finding 27).
   */
  private viewersBelow: Array<Array<{ id: string; at: number }>> = [];
  /** Set by a restore: the copy is read again from the log, restored entries (under new ids) included. */
  private mustReread = false;
  /** A restore failed part-way: tried again from the loop until it succeeds (it is idempotent). */
  private mustRestore = false;
  private running = false;
  private loop: Promise<void> | null = null;

  constructor(
    @Inject(WEBHOOK_LOG) private readonly log: TransitionLog,
    private readonly recovery: RecoverySteps,
    private readonly pods: PodDirectory,
    private readonly dispatcher: WebhookDispatcher,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RECENT_APPENDS) private readonly recentAppends: () => LogEntry[],
    private readonly viewersDelivered: ViewersDelivered,
  ) {
    viewersDelivered.answerWith((entry) => this.viewersHadAt(entry));
  }

  /** Entries copied (for tests and the curious). */
  get copied(): number {
    return this.count;
  }

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
    let progressAt = 0;
    while (this.running) {
      try {
        if (this.mustRestore) await this.restoreLost();
        if (!this.pods.keepsLog()) {
          // Only a few pods keep the copy (LOG_KEEPERS); one that stops being one holds nothing.
          this.copies = [];
          this.count = 0;
          this.position = null;
        } else if (this.mustReread || this.position === null || this.position.length !== this.log.shardCount) await this.start();
        if (this.position === null) {
          await sleep(TAIL_EVERY_MS);
          continue;
        }
        // Before the tail: a pod that started a moment before a loss (the soak restarted one 15 s before
        // Redis, behind a receiver outage) had read no position by then, having tailed the backlog first,
        // and appended all of it again unmarked (6,503 entries to every viewer).
        if (Date.now() - progressAt >= PRUNE_EVERY_MS) {
          await this.readViewersProgress();
          progressAt = Date.now();
        }
        await this.tail();
        if (Date.now() - prunedAt >= PRUNE_EVERY_MS) {
          this.dropExpired();
          await this.dropAcknowledged();
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
    this.mustReread = false;
    const below = await this.log.acknowledgedBelow(WEBHOOKS_GROUP);
    this.position = below.map((id) => (id === null ? null : idBefore(id)));
    this.copies = below.map(() => []);
    this.viewersBelow = below.map(() => []);
    this.count = 0;
  }

  private async tail(): Promise<void> {
    await readLogPages(this.log, this.position!, PAGE, (shards) => {
      for (const [shard, entries] of shards.entries()) {
        this.copies[shard]!.push(...entries);
        this.count += entries.length;
      }
      this.bound();
    }, { goOn: () => this.running });
  }

  /** Drops, oldest first across shards, what is past MIRROR_MAX. */
  private bound(): void {
    while (this.count > MIRROR_MAX) {
      const oldest = this.copies.reduce((best, entries, shard) => (entries.length > 0 && (best === -1 || compareIds(entries[0]!.id, this.copies[best]![0]!.id) < 0) ? shard : best), -1);
      this.copies[oldest]!.shift();
      this.count -= 1;
    }
  }

  /** Past the retention the dispatcher dead-letters an entry: no copy is needed. */
  private dropExpired(): void {
    const expired = Date.now() - this.config.eventLogRetentionMs;
    for (const [shard, entries] of this.copies.entries()) this.keep(shard, entries.filter((entry) => entry.at >= expired));
  }

  /**
   * Where the viewer relays have got in each shard, kept as a checkpoint when it moved on (viewersBelow).
   * Not for a shard whose oldest copy the log lacks (see dropAcknowledged).
   */
  private async readViewersProgress(): Promise<void> {
    // The viewers' read before the check for a loss: read after a loss, it would be the new log's
    // position, past every copy, and mark copies no viewer had.
    const viewersBelow = await this.log.acknowledgedBelow(VIEWERS_GROUP);
    // Read after the answer: everything below was sent to the pods' subscriptions before this time.
    const viewersAt = Date.now();
    const lost = await this.lostShards();
    for (const [shard, id] of viewersBelow.entries()) {
      const checkpoints = this.viewersBelow[shard];
      if (id === null || lost[shard] || checkpoints === undefined) continue;
      const last = checkpoints[checkpoints.length - 1];
      if (last !== undefined && compareIds(id, last.id) <= 0) continue;
      checkpoints.push({ id, at: viewersAt });
      // The oldest then stands for all before it, at its (later) time: a bound, never too early.
      if (checkpoints.length > VIEWERS_CHECKPOINTS) checkpoints.shift();
    }
  }

  /**
   * Drops what the group acknowledged. Not in a shard whose oldest copy the log lacks: Redis lost its
   * data and the recovery has not appended the copy again yet, and the group's positions are those of a
   * new log, past every copied entry.
   */
  private async dropAcknowledged(): Promise<void> {
    const [below, lost] = await Promise.all([this.log.acknowledgedBelow(WEBHOOKS_GROUP), this.lostShards()]);
    for (const [shard, id] of below.entries()) {
      const entries = this.copies[shard];
      if (id === null || entries === undefined || lost[shard]) continue;
      // A shard's copies are in id order (appended as read from the log, only ever filtered): filtering
      // every copy each second was most of the mirror's CPU while a receiver was down and copies piled up.
      this.keep(shard, entries.slice(firstAtOrAfter(entries, id)));
    }
  }

  private keep(shard: number, kept: LogEntry[]): void {
    this.count -= this.copies[shard]!.length - kept.length;
    this.copies[shard] = kept;
  }

  /**
   * When the viewer relays were known to have delivered `entry`: only for one of the copies, which are
   * entries of the log as it was before a loss (an entry the dispatcher or the recent appends hold may be
   * one no relay had taken yet, or the new log's), found by its id.
   */
  private viewersHadAt(entry: LogEntry): number | undefined {
    const checkpoints = this.viewersBelow[entry.shard];
    const copies = this.copies[entry.shard];
    if (checkpoints === undefined || copies === undefined || copies[firstAtOrAfter(copies, entry.id)]?.id !== entry.id) return undefined;
    // The first checkpoint past the entry (below a checkpoint's id means delivered, its own id not): when
    // the relays were first known to have delivered it.
    const at = firstAtOrAfter(checkpoints, entry.id);
    return checkpoints[checkpoints[at]?.id === entry.id ? at + 1 : at]?.at;
  }

  private recentLost(): Promise<LogEntry[]> {
    return recentLostOf(this.log, this.recentAppends());
  }

  /** Per shard, whether the log no longer has its oldest copy. The log keeps entries by age, so when the oldest is there, so is the rest. */
  private async lostShards(): Promise<boolean[]> {
    const oldest = this.copies.map((entries) => entries[0]?.id ?? null);
    if (oldest.every((id) => id === null)) return oldest.map(() => false);
    const { shards } = await this.log.readAfter(oldest.map((id) => (id === null ? null : idBefore(id))), 1);
    return oldest.map((id, shard) => id !== null && shards[shard]?.[0]?.id !== id);
  }

  /**
   * After an outage: appends again what the log lost of the copy, and whatever of what this pod's
   * dispatcher holds and its own calls appended lately the log no longer has (each entry is checked).
   * The copy is read every TAIL_EVERY_MS, so it may lack the entries appended just before the loss; a
   * dispatcher that was reading (its window not full) took those within milliseconds, and the pod that
   * appended one still has it (RecentAppends), unless it died in the same seconds. Without them, a
   * streamer that ended in that moment would be settled offline a second time (lost-streamers.ts), and
   * its webhook would be lost when its shard's dispatcher had died (RELIABILITY.md, finding 9).
   */
  async restoreLost(): Promise<void> {
    const retrying = this.mustRestore;
    this.mustRestore = false;
    try {
      const lost = await this.lostShards();
      const copies = this.copies.filter((_, shard) => lost[shard]).flat();
      const entries = [...copies, ...this.dispatcher.heldEntries(), ...(await this.recentLost())];
      if (entries.length === 0) return;
      const ordered = inIdOrderPerShard(entries);
      const marks = this.viewersDelivered.marksOf(ordered);
      const restored = await this.log.restore(ordered, (entry) => marks.get(entry));
      if (restored > 0) this.logger.warn({ msg: 'webhooks the log had lost appended again', count: restored, candidates: entries.length, viewersHad: marks.size, pod: this.config.podId });
      // What was appended again (here or by another pod) is in the log under new ids: read it from there.
      if (lost.some(Boolean)) this.mustReread = true;
    } catch (error) {
      this.mustRestore = true;
      if (!retrying) this.logger.warn({ msg: 'webhooks the log lost not appended again yet; retrying', error: error instanceof Error ? error.message : String(error), pod: this.config.podId });
    }
  }
}

/** Past any id a log gives: a shard with no recent entries is read from here, and returns nothing. */
const PAST_EVERY_ID = `${Number.MAX_SAFE_INTEGER}-0`;
/** Pages read per shard at most when checking the recent entries; what is left unread is restored as a candidate. */
const RECENT_CHECK_PAGES = 20;

/**
 * What this pod appended or relayed lately (RecentAppends) that the log no longer has. Per shard, the log
 * from the oldest of them to the newest is read (a few seconds of that shard's appends) and compared by
 * id. Neither end alone tells: a log that restarted empty has new entries by the time the recovery runs
 * (this pod's own calls and its viewer relay take them within milliseconds of Redis answering), and a
 * replica promoted behind its primary lacks the newest. A recovery from a mere stall only reads.
 */
async function recentLostOf(log: TransitionLog, recent: readonly LogEntry[]): Promise<LogEntry[]> {
  const oldest: (string | null)[] = Array.from({ length: log.shardCount }, () => null);
  const newest: (string | null)[] = [...oldest];
  for (const { shard, id } of recent) {
    if (shard < 0 || shard >= oldest.length) continue;
    if (oldest[shard] === null || compareIds(id, oldest[shard]!) < 0) oldest[shard] = id;
    if (newest[shard] === null || compareIds(id, newest[shard]!) > 0) newest[shard] = id;
  }
  if (oldest.every((id) => id === null)) return [];
  const present = new Set<string>();
  // Per shard, whether the read has reached its newest recent entry (a shard with none has nothing to read).
  const through = newest.map((id) => id === null);
  const position = oldest.map((id) => (id === null ? PAST_EVERY_ID : idBefore(id)));
  await readLogPages(
    log,
    position,
    PAGE,
    (shards) => {
      for (const [shard, entries] of shards.entries()) {
        for (const entry of entries) present.add(`${shard}/${entry.id}`);
        const last = entries.at(-1);
        if (last !== undefined && newest[shard] !== null && compareIds(last.id, newest[shard]!) >= 0) through[shard] = true;
      }
    },
    { maxPages: RECENT_CHECK_PAGES, goOn: () => !through.every(Boolean) },
  );
  // Unread past the page bound: candidates (the restore checks each id, and appends only what is missing).
  return recent.filter(({ shard, id }) => !present.has(`${shard}/${id}`));
}

/** Each shard's entries once, in id order (a streamer's are in one shard, so in version order). */
function inIdOrderPerShard(entries: readonly LogEntry[]): LogEntry[] {
  const byId = new Map(entries.map((entry) => [`${entry.shard}/${entry.id}`, entry]));
  return [...byId.values()].sort((a, b) => a.shard - b.shard || compareIds(a.id, b.id));
}
