import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { OutageLog } from '../../logging/outage-log.js';
import type { NoticeDecision } from '../domain/occupancy.js';
import type { OccupancyStore } from '../domain/occupancy-store.port.js';
import { OCCUPANCY_STORE } from './injection-tokens.js';
import { PodDirectory } from './pod-directory.js';

/** How often a pod writes the counts that changed: the HTTP read is at most about this old (and a beat). */
export const OCCUPANCY_FLUSH_MS = 1_000;
/** How often a pod writes all its counts again, however still: what a lost write or an old layout left heals. */
export const OCCUPANCY_REFRESH_MS = 10 * 60_000;
/** Streamers per store call: a pod that writes all its counts again does so in slices. */
const FLUSH_SLICE = 512;

/** This pod's viewer sockets of a streamer: the size of its room in the pod's `/viewer` namespace. */
export type LocalCount = (streamerId: string) => number;

/**
 * Occupancy: counts each pod's viewer sockets per streamer, meets the pods' counts in the store, and
 * tells a streamer's connections their count when it changes, at most once per interval.
 *
 * No store call on the subscribe path: a join or leave marks the streamer, and the pod writes the
 * counts of the marked ones every OCCUPANCY_FLUSH_MS, one script call per shard, which returns their
 * totals. The pod that wrote a change claims the streamer's next notice in the store (one per interval,
 * cluster-wide), which names the streamer's connections, and sends it to the pods that hold them; a
 * notice refused for the interval is asked for again when it ends, with the count then. A new
 * connection is told its first count by its own pod (transport/occupancy-first-notice.ts).
 */
@Injectable()
export class OccupancyService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OccupancyService.name);
  private readonly outage = new OutageLog(this.logger, 'occupancy not written; retrying every second', 'occupancy written again');
  private readonly marked = new Set<string>();
  /** Notices to ask for again when the interval ends; `force`: an earlier claim's answer was lost. */
  private readonly retries = new Map<string, { timer: NodeJS.Timeout; force: boolean }>();
  private localCount: LocalCount = () => 0;
  private localStreamers: () => Iterable<string> = () => [];
  private send: (streamerId: string, viewers: number, holders: readonly string[]) => void = () => {};
  private flushTimer: NodeJS.Timeout | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;
  private flushing = false;

  constructor(
    @Inject(OCCUPANCY_STORE) private readonly store: OccupancyStore,
    private readonly pods: PodDirectory,
  ) {
    pods.onRenamed(() => this.markAll());
    pods.onGone((pod) => this.forget(pod));
  }

  /**
   * Where this pod's counts come from: `count` reads a streamer's local viewer sockets, `streamers` lists
   * the streamers it has any of. The gateway marks a streamer (`changed`) when a socket joins or leaves.
   */
  countViewersWith(count: LocalCount, streamers: () => Iterable<string>): void {
    this.localCount = count;
    this.localStreamers = streamers;
  }

  /** How notices reach a streamer's connections: those here, and (`holders`: its connection ids) those on other pods. */
  sendNoticesWith(send: (streamerId: string, viewers: number, holders: readonly string[]) => void): void {
    this.send = send;
  }

  /** A viewer socket joined or left the streamer's room on this pod. */
  changed(streamerId: string): void {
    this.marked.add(streamerId);
  }

  /** The streamer's viewers, cluster-wide: at most about OCCUPANCY_FLUSH_MS + a pod beat old. */
  async viewersOf(streamerId: string): Promise<number> {
    const totals = await this.store.totals([streamerId], this.pods.counts);
    return totals.get(streamerId) ?? 0;
  }

  onApplicationBootstrap(): void {
    this.flushTimer = setInterval(() => void this.flush(), OCCUPANCY_FLUSH_MS);
    this.flushTimer.unref();
    this.refreshTimer = setInterval(() => this.markAll(), OCCUPANCY_REFRESH_MS);
    this.refreshTimer.unref();
  }

  onApplicationShutdown(): void {
    if (this.flushTimer !== null) clearInterval(this.flushTimer);
    if (this.refreshTimer !== null) clearInterval(this.refreshTimer);
    for (const { timer } of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
  }

  /**
   * Writes the marked streamers' counts, then claims a notice for each whose total may have changed. Only
   * what was marked when it started: marks made meanwhile wait for the next tick, so steady churn costs
   * one write per shard a second, not one per round trip.
   */
  async flush(): Promise<void> {
    if (this.flushing || this.marked.size === 0) return;
    this.flushing = true;
    const batch = [...this.marked];
    this.marked.clear();
    try {
      for (let i = 0; i < batch.length; i += FLUSH_SLICE) {
        const slice = batch.slice(i, i + FLUSH_SLICE);
        let totals: Map<string, number>;
        try {
          totals = await this.store.record(this.pods.pod, new Map(slice.map((id) => [id, this.localCount(id)])), this.pods.counts);
          this.outage.succeeded();
        } catch (error) {
          // Written or not, it is written again (a count replaces the last, so twice is once).
          for (const id of batch.slice(i)) this.marked.add(id);
          this.outage.failed(error);
          return;
        }
        await this.notice(totals);
        // A pod writing all its counts again goes slice by slice, letting its sockets be served between.
        await new Promise((resolve) => setImmediate(resolve));
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Claims each streamer's notice for its count and sends the claimed; the others ask again when their
   * interval ends. A claim whose answer was lost may have been recorded as sent: asked again with `force`,
   * so the count is sent even if it equals the one recorded (a repeat is harmless, a silence is not).
   */
  private async notice(totals: ReadonlyMap<string, number>, force = false): Promise<void> {
    if (totals.size === 0) return;
    let decisions: Map<string, NoticeDecision>;
    try {
      decisions = await this.store.claimNotices(totals, force);
    } catch {
      for (const streamerId of totals.keys()) this.retry(streamerId, OCCUPANCY_FLUSH_MS, true);
      return;
    }
    for (const [streamerId, decision] of decisions) {
      if (decision.send) this.send(streamerId, totals.get(streamerId)!, decision.holders ?? []);
      else if (decision.retryInMs !== null) this.retry(streamerId, decision.retryInMs, force);
    }
  }

  /** At most one retry per streamer: a later one keeps the earlier time, and adds its `force`. */
  private retry(streamerId: string, delayMs: number, force = false): void {
    const pending = this.retries.get(streamerId);
    if (pending !== undefined) {
      pending.force ||= force;
      return;
    }
    const timer = setTimeout(() => {
      const forced = this.retries.get(streamerId)?.force ?? force;
      this.retries.delete(streamerId);
      void this.viewersOf(streamerId).then(
        (viewers) => this.notice(new Map([[streamerId, viewers]]), forced),
        () => this.retry(streamerId, OCCUPANCY_FLUSH_MS, forced),
      );
    }, delayMs + 1);
    timer.unref();
    this.retries.set(streamerId, { timer, force });
  }

  /** A pod is gone: its counts are removed, and the streamers it counted are told their new totals. */
  private async forget(pod: string): Promise<void> {
    const streamerIds = await this.store.forgetPod(pod);
    for (let i = 0; i < streamerIds.length; i += FLUSH_SLICE) {
      await this.notice(await this.store.totals(streamerIds.slice(i, i + FLUSH_SLICE), this.pods.counts));
    }
  }

  /** Every streamer this pod has viewers of is written again at the next flush (after Redis came back, maybe empty, or the shard layout moved). */
  markAll(): void {
    for (const id of this.localStreamers()) this.marked.add(id);
  }
}
