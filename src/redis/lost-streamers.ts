import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { OutageLog } from '../logging/outage-log.js';
import type { OnlinePage, StoreResult } from '../presence/domain/presence-store.port.js';
import { readLogPages } from '../presence/application/log-pages.js';
import type { TransitionLog } from '../presence/domain/transition-log.port.js';
import type { RedisClient } from './redis-client.js';
import { ReassertMarks } from './reassert-marks.js';

/**
 * How often the log is read: a streamer that came online less than this before Redis lost its data, on
 * a pod that died in that same moment, is not known here (its viewers learn it on their next resync).
 */
const TAIL_EVERY_MS = 500;
const PAGE = 1_000;
/** Streamers settled at once after a loss (each a script call). */
const SETTLE_CONCURRENCY = 64;
/** A settle that failed (the store unreachable) is tried again this much later. */
const SETTLE_RETRY_MS = 1_000;
/** Online streamers remembered at most; past it the newest are not (a loss then leaves them to their viewers' next resync). */
const REMEMBERED_MAX = 2_000_000;
const REMEMBERED_OFFLINE = 100_000;
/** How often a settle waiting for the live pods' re-asserts reads their marks. */
const MARKS_EVERY_MS = 250;

export interface LostStreamersOptions {
  /** The deployment's epoch key: written by the first pod to find none, gone with Redis's data. */
  readonly epochKey: string;
  /** Where the re-assert marks live (ReassertMarks). */
  readonly marksPrefix: string;
  /** This pod's POD_NAME, for its re-assert mark. */
  readonly pod: string;
  /** The POD_NAMEs of the live pods (PodDirectory.live), whose marks the settle waits for. */
  readonly livePods: () => readonly string[];
  /** The least wait after a loss before settling: a TTL and a second, by which every live connection has heartbeated. */
  readonly settleAfterMs: number;
  /** The most the settle then waits for live pods that have not marked (one stuck, or of a version that does not mark). */
  readonly awaitPodsMaxMs: number;
  /** PresenceService.settleLost. */
  readonly settleLost: (streamerId: string, since: number) => Promise<StoreResult>;
  /** PresenceService.listOnline. */
  readonly listOnline: (afterId: string | null, limit: number) => Promise<OnlinePage>;
  /** PodDirectory.keepsLog: only a few pods keep this (LOG_KEEPERS); the others hold nothing. */
  readonly keeps: () => boolean;
}

/**
 * Who was online, kept from the transition log by a few pods (PodDirectory.keepsLog), for when Redis
 * restarts empty. A streamer whose only connection died with a pod in the same seconds is then known to nobody: no lease is left
 * to run out, and viewers and webhook receivers hold it online for good (their resync snapshot says
 * version 0, older than what they hold). So when a pod finds Redis lost its data (the epoch key it
 * wrote is gone), it waits a TTL plus a second, by which every live connection has heartbeated or been
 * re-asserted, and then settles every streamer it knew online that the store still has no record of:
 * offline (`timeout`), logged once across the pods (PresenceStore.settleLost).
 *
 * A second loss within that wait, or during the settle, starts the wait again: right after it, the store
 * is empty and the pods have not re-asserted yet, so settling then would log live streamers offline (a
 * flap for all of them). A settle that cannot reach the store goes on a second later from where it
 * failed, not dropped: its streamers would stay online for good.
 */
export class LostStreamers {
  private readonly logger = new Logger(LostStreamers.name);
  /** Streamer → version of its last online entry. */
  private readonly online = new Map<string, number>();
  /**
   * Streamer → version of its last offline entry, for the latest REMEMBERED_OFFLINE: entries appended
   * again after a loss (webhook-log-mirror.ts, the webhook dispatcher) come after newer ones, in no
   * order, and must not make an ended streamer look online again.
   */
  private readonly offline = new Map<string, number>();
  private position: (string | null)[] | null = null;
  private epoch: string | null = null;
  private markedAtStart = false;
  private running = false;
  private loop: Promise<void> | null = null;
  /** The settle waiting for its time: one at most, for the latest loss. */
  private pendingSettle: NodeJS.Timeout | null = null;
  /** Which settle is current: each plan takes the next turn, and a settle whose turn has passed stops. */
  private turn = 0;
  private readonly marks: ReassertMarks;
  private readonly settleOutage = new OutageLog(this.logger, 'settling streamers lost with redis failed; trying again every second', 'settling streamers lost with redis again');

  constructor(
    private readonly redis: RedisClient,
    private readonly log: TransitionLog,
    private readonly options: LostStreamersOptions,
  ) {
    this.marks = new ReassertMarks(redis, options.marksPrefix);
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.turn += 1;
    if (this.pendingSettle !== null) clearTimeout(this.pendingSettle);
    await this.loop;
  }

  /**
   * After an outage, before this pod re-asserts its connections: when the epoch key is gone (Redis lost
   * its data), plans the settle of those it knew online then. Returns the epoch the re-asserts go into
   * (for `reasserted`), and whether it found a loss.
   */
  async beforeReassert(): Promise<{ epoch: string; found: boolean }> {
    const found = await this.findLoss();
    return { epoch: this.epoch ?? '', found };
  }

  /**
   * Once this pod's connections are re-asserted into `epoch`: marks it (ReassertMarks), unless Redis lost
   * its data again meanwhile. Read after the re-asserts, a new epoch would be marked without them in it,
   * and the others would settle this pod's live streamers (the recovery of that loss marks it).
   */
  async reasserted(epoch: string): Promise<void> {
    if ((await this.redis.get(this.options.epochKey)) === epoch) await this.marks.mark(epoch, this.options.pod);
  }

  /** Whether the epoch moved on since this pod last read it; if so, plans its settle. */
  private async findLoss(): Promise<boolean> {
    const known = this.epoch;
    const current = await this.claimEpoch();
    if (known === null || current === known) return false;
    this.logger.warn({ msg: 'redis lost its data; streamers known online are settled unless claimed', suspects: this.online.size, afterMs: this.options.settleAfterMs });
    this.plan(current, this.options.settleAfterMs);
    return true;
  }

  /**
   * Plans the settle of the loss that began `epoch`, in `ms`: it replaces any planned or running one (a
   * later loss restarts the wait). `resume` goes on with a settle that failed part-way.
   */
  private plan(epoch: string, ms: number, resume: { ids: string[]; from: number } | null = null): void {
    this.turn += 1;
    const turn = this.turn;
    if (this.pendingSettle !== null) clearTimeout(this.pendingSettle);
    this.pendingSettle = null;
    if (!this.running) return;
    this.pendingSettle = setTimeout(() => {
      this.pendingSettle = null;
      void this.settle(turn, epoch, resume);
    }, ms);
    this.pendingSettle.unref();
  }

  /** The deployment's epoch, written by the first pod to find none; remembered. */
  private async claimEpoch(): Promise<string> {
    await this.redis.set(this.options.epochKey, randomUUID(), 'NX');
    this.epoch = await this.redis.get(this.options.epochKey);
    return this.epoch ?? '';
  }

  /**
   * Those known online now, not only at the loss: entries other pods appended again after it (each
   * restores on its own recovery) may name streamers this pod had not read yet. One that has a record
   * again (a re-assert, a new connection) is left as it is (`settleLost`), so settling twice is harmless.
   *
   * First it waits for every live pod to have re-asserted (`awaitReasserts`). Before each batch it checks
   * that it is still the current settle and that the store still holds the loss's epoch: if Redis lost
   * its data again, the pods have not re-asserted yet, and it stops there and the wait starts over. A
   * failure (Redis unreachable) goes on from the same batch a second later.
   */
  private async settle(turn: number, epoch: string, resume: { ids: string[]; from: number } | null): Promise<void> {
    let ids = resume?.ids ?? [];
    let from = resume?.from ?? 0;
    let settled = 0;
    try {
      if (resume === null) {
        // A pod that keeps no copy knows nobody online: nothing to wait for, nothing to settle.
        if (!this.options.keeps()) return;
        if (!(await this.awaitReasserts(turn, epoch))) return;
        ids = [...this.online.keys()];
      }
      // As of now: by now every deadline its lost lease could have had has passed.
      const since = Date.now();
      for (; from < ids.length; from += SETTLE_CONCURRENCY) {
        if (!(await this.stillCurrent(turn, epoch))) return;
        // Read meanwhile: the streamer's offline, or entries appended again after the loss (webhook-log-mirror.ts) that end it.
        const batch = ids.slice(from, from + SETTLE_CONCURRENCY).filter((id) => this.online.has(id));
        const results = await Promise.all(batch.map((id) => this.options.settleLost(id, since)));
        settled += results.reduce((sum, result) => sum + result.events.length, 0);
      }
    } catch (error) {
      if (!this.running || turn !== this.turn) return;
      this.settleOutage.failed(error);
      // Not waited for yet: wait again. Past the wait: go on from the same batch.
      this.plan(epoch, SETTLE_RETRY_MS, ids.length === 0 ? null : { ids, from });
      return;
    }
    this.settleOutage.succeeded();
    this.logger.warn({ msg: 'streamers lost with redis settled offline', settled, suspects: ids.length });
  }

  /**
   * Waits until every live pod has marked the loss's epoch (at most `awaitPodsMaxMs`): a pod still
   * re-asserting has live streamers the store has no record of yet. The fixed wait alone was not enough:
   * in the full-scale soak the busiest pod, restoring the webhook log first on a starved machine,
   * re-asserted 11.6 s after the restart, past the others' settle, which logged 290 of its live
   * streamers offline (RELIABILITY, finding 26). A pod that died with the loss never beats again, so it
   * is not waited for. False when this settle is no longer the one to run.
   */
  private async awaitReasserts(turn: number, epoch: string): Promise<boolean> {
    const startedAt = Date.now();
    let logged = false;
    for (;;) {
      if (!(await this.stillCurrent(turn, epoch))) return false;
      const missing = await this.marks.missing(epoch, this.options.livePods());
      if (missing.length === 0) {
        if (logged) this.logger.log({ msg: 'every live pod has re-asserted; settling', waitedMs: Date.now() - startedAt });
        return true;
      }
      if (Date.now() - startedAt >= this.options.awaitPodsMaxMs) {
        this.logger.warn({ msg: 'settling streamers lost with redis without these pods re-asserted', pods: missing, waitedMs: Date.now() - startedAt });
        return true;
      }
      if (!logged) this.logger.log({ msg: 'settle waits for pods still re-asserting', pods: missing });
      logged = true;
      await sleep(MARKS_EVERY_MS);
    }
  }

  /** Whether the settle for `epoch` is still the one to run: not stopped, not replaced, and Redis not lost again. */
  private async stillCurrent(turn: number, epoch: string): Promise<boolean> {
    if (!this.running || turn !== this.turn) return false;
    if ((await this.redis.get(this.options.epochKey)) === epoch) return true;
    // Lost again: found here first (the wait starts over), or by the recovery, which planned it already.
    await this.findLoss();
    return false;
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        // At the start: this pod holds nothing yet, so it has nothing to re-assert.
        if (!this.markedAtStart) {
          await this.marks.mark(this.epoch ?? (await this.claimEpoch()), this.options.pod);
          this.markedAtStart = true;
        }
        if (!this.options.keeps()) {
          this.online.clear();
          this.offline.clear();
          this.position = null;
          await sleep(TAIL_EVERY_MS);
          continue;
        }
        if (this.position === null || this.position.length !== this.log.shardCount) await this.follow();
        await this.tail();
      } catch {
        // Redis unreachable: RedisRecovery reports it; the tail goes on from where it was.
      }
      await sleep(TAIL_EVERY_MS);
    }
  }

  /** From the log's tips on, with whoever is online now (a pod that starts late knows them too). */
  private async follow(): Promise<void> {
    this.position = (await this.log.tips()).slice();
    let after: string | null = null;
    do {
      const page = await this.options.listOnline(after, PAGE);
      for (const state of page.items) if (this.online.size < REMEMBERED_MAX && !this.online.has(state.streamerId)) this.online.set(state.streamerId, state.version);
      after = page.lastId;
    } while (after !== null && this.running);
  }

  /** One log entry; one older than what is known of the streamer (appended again) changes nothing. */
  private note(streamerId: string, online: boolean, version: number): void {
    if (version <= Math.max(this.online.get(streamerId) ?? 0, this.offline.get(streamerId) ?? 0)) return;
    if (online) {
      this.offline.delete(streamerId);
      if (this.online.size < REMEMBERED_MAX || this.online.has(streamerId)) this.online.set(streamerId, version);
      return;
    }
    this.online.delete(streamerId);
    this.offline.delete(streamerId);
    this.offline.set(streamerId, version);
    if (this.offline.size > REMEMBERED_OFFLINE) this.offline.delete(this.offline.keys().next().value!);
  }

  private async tail(): Promise<void> {
    await readLogPages(this.log, this.position!, PAGE, (shards) => {
      for (const { event } of shards.flat()) this.note(event.streamerId, event.status === 'online', event.version);
    }, { goOn: () => this.running });
  }
}
