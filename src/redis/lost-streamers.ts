import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Logger } from '@nestjs/common';
import { OutageLog } from '../logging/outage-log.js';
import type { OnlinePage, StoreResult } from '../presence/domain/presence-store.port.js';
import { readLogPages } from '../presence/application/log-pages.js';
import type { TransitionLog } from '../presence/domain/transition-log.port.js';
import type { RedisClient } from './redis-client.js';

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
  private running = false;
  private loop: Promise<void> | null = null;
  /** The settle waiting for its time: one at most, for the latest loss. */
  private pendingSettle: NodeJS.Timeout | null = null;
  /** Which settle is current: each plan takes the next turn, and a settle whose turn has passed stops. */
  private turn = 0;
  private readonly settleOutage = new OutageLog(this.logger, 'settling streamers lost with redis failed; trying again every second', 'settling streamers lost with redis again');

  constructor(
    private readonly redis: RedisClient,
    private readonly epochKey: string,
    private readonly log: TransitionLog,
    /** PresenceService.settleLost. */
    private readonly settleLost: (streamerId: string, since: number) => Promise<StoreResult>,
    private readonly settleAfterMs: number,
    /** PresenceService.listOnline. */
    private readonly listOnline: (afterId: string | null, limit: number) => Promise<OnlinePage>,
    /** PodDirectory.keepsLog: only a few pods keep this (LOG_KEEPERS); the others hold nothing. */
    private readonly keeps: () => boolean,
  ) {}

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
   * After an outage: when the epoch key is gone (Redis lost its data), settles, a TTL and a second later,
   * those it knew online then. Returns whether it found a loss.
   */
  async afterOutage(): Promise<boolean> {
    const known = this.epoch;
    const current = await this.claimEpoch();
    if (known === null || current === known) return false;
    this.logger.warn({ msg: 'redis lost its data; streamers known online are settled unless claimed', suspects: this.online.size, afterMs: this.settleAfterMs });
    this.plan(current, this.settleAfterMs);
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
    await this.redis.set(this.epochKey, randomUUID(), 'NX');
    this.epoch = await this.redis.get(this.epochKey);
    return this.epoch ?? '';
  }

  /**
   * Those known online now, not only at the loss: entries other pods appended again after it (each
   * restores on its own recovery) may name streamers this pod had not read yet. One that has a record
   * again (a re-assert, a new connection) is left as it is (`settleLost`), so settling twice is harmless.
   * Before each batch it checks that it is still the current settle and that the store still holds the
   * loss's epoch: if Redis lost its data again, the pods have not re-asserted yet, and it stops there and
   * the wait starts over. A failure (Redis unreachable) goes on from the same batch a second later.
   */
  private async settle(turn: number, epoch: string, resume: { ids: string[]; from: number } | null): Promise<void> {
    const ids = resume?.ids ?? [...this.online.keys()];
    let from = resume?.from ?? 0;
    let settled = 0;
    // As of now: by now every deadline its lost lease could have had has passed.
    const since = Date.now();
    try {
      for (; from < ids.length; from += SETTLE_CONCURRENCY) {
        if (!this.running || turn !== this.turn) return;
        if ((await this.redis.get(this.epochKey)) !== epoch) {
          // Lost again: found here first (the wait starts over), or by the recovery, which planned it already.
          await this.afterOutage();
          return;
        }
        // Read meanwhile: the streamer's offline, or entries appended again after the loss (webhook-log-mirror.ts) that end it.
        const batch = ids.slice(from, from + SETTLE_CONCURRENCY).filter((id) => this.online.has(id));
        const results = await Promise.all(batch.map((id) => this.settleLost(id, since)));
        settled += results.reduce((sum, result) => sum + result.events.length, 0);
      }
    } catch (error) {
      if (!this.running || turn !== this.turn) return;
      this.settleOutage.failed(error);
      this.plan(epoch, SETTLE_RETRY_MS, { ids, from });
      return;
    }
    this.settleOutage.succeeded();
    this.logger.warn({ msg: 'streamers lost with redis settled offline', settled, suspects: ids.length });
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (this.epoch === null) await this.claimEpoch();
        if (!this.keeps()) {
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
      const page = await this.listOnline(after, PAGE);
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
