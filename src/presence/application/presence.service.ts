import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Meta, PresenceState } from '../domain/presence-state.js';
import type { ConnectionLeaseView, OnlinePage, PresenceStore, StoreResult } from '../domain/presence-store.port.js';
import type { TimelineEntry } from '../domain/timeline.js';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/app-config.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { ConnectionQueue } from './connection-queue.js';
import { PRESENCE_STORE } from './injection-tokens.js';

/** Store calls a re-assert runs at once: a pod with 20,000 connections does not send them in one burst. */
const REASSERT_CONCURRENCY = 64;
/** Closes and ends kept for replay after an outage, at most; beyond it the oldest are dropped (their leases still run out by the TTL). */
const UNRECORDED_MAX = 100_000;

/** What this pod knows of one of its own streamer connections, to re-assert it after a store outage. */
interface LocalConnection {
  readonly streamerId: string;
  meta: Meta | undefined;
  /** The streamer sent `end` on it and has not heartbeated since: re-asserting must not revive it. */
  ended: boolean;
  /**
   * When (this pod's clock) it last connected or heartbeated, and again when the store answered that
   * call (so a re-assert's deadline is never earlier than the one the store set): one silent past the
   * TTL has timed out, and a re-assert keeps the deadline it had.
   */
  lastBeatAt: number;
  /** When this pod last kept its place (see keepPlaces); an `end` keeps it too. */
  keptAt: number;
}

/**
 * Runs presence changes against the store. It holds no presence state of its own and publishes
 * nothing: the store decides, and appends each event to the transition log in the same atomic step,
 * and the relays deliver from the log (see viewer-relay.ts). This service only sequences each
 * connection's calls and remembers this pod's live connections, to re-assert them after an outage.
 */
@Injectable()
export class PresenceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly queue = new ConnectionQueue();
  private readonly local = new Map<string, LocalConnection>();
  private keepTimer: NodeJS.Timeout | null = null;
  private placeLost: (streamerId: string, connectionId: string) => void = () => undefined;
  /**
   * Closes and ends the store could not take (it was unreachable), by key (`close <connection>`,
   * `end <streamer>`), replayed once it is back. Left out, a close whose Redis then restarted empty
   * would never log the offline: no lease is left to run out, and viewers hold the streamer online.
   */
  private readonly unrecorded = new Map<string, () => Promise<StoreResult>>();

  constructor(
    @Inject(PRESENCE_STORE) private readonly store: PresenceStore,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * This pod's open connections that keep nobody online (their streamer sent `end`, or they went
   * silent for the TTL) still count against the streamer's open connections, cluster-wide: the store
   * holds each one parked for a TTL, and this renews that every quarter of a TTL while the socket is
   * open. A dead pod's run out by themselves.
   */
  onApplicationBootstrap(): void {
    // Looked at sixteen times a TTL, each connection renewed once a quarter: spread over the TTL as the
    // connections ended or went silent, not all of a pod's in one burst.
    this.keepTimer = setInterval(() => this.keepPlaces(), Math.max(50, Math.floor(this.config.presenceTtlMs / 16)));
    this.keepTimer.unref();
  }

  onApplicationShutdown(): void {
    if (this.keepTimer !== null) clearInterval(this.keepTimer);
  }

  /** `listener` hears of a connection of this pod that lost its place (the store refused to keep it). */
  whenPlaceLost(listener: (streamerId: string, connectionId: string) => void): void {
    this.placeLost = listener;
  }

  connect(streamerId: string, connectionId: string): Promise<StoreResult> {
    const local: LocalConnection = { streamerId, meta: undefined, ended: false, lastBeatAt: Date.now(), keptAt: 0 };
    this.local.set(connectionId, local);
    // Live again: an `end` that never reached the store must not end this stream when it is replayed.
    this.unrecorded.delete(`end ${streamerId}`);
    return this.queue.run(connectionId, () => this.store.connect(streamerId, connectionId)).then((result) => {
      // Refused: the gateway closes the socket without a disconnect; nothing of it may be re-asserted.
      if (result.refused !== undefined && this.local.get(connectionId) === local) this.local.delete(connectionId);
      return answered(local, result);
    });
  }

  /**
   * Renews the connection's lease. A store that answers at once (in memory) is asked at once when none of
   * the connection's operations is in flight, and its answer returned as it is, not as a promise: the
   * gateway then acks in the same turn of the event loop, with no promise made for the heartbeat (the
   * embedded heartbeat loop's acks/s against the bare server's went from 0.85x to 0.95x: commit aa7cbe3;
   * the latest figures are in BENCHMARKS.md).
   */
  heartbeat(streamerId: string, connectionId: string, meta: Meta | undefined): StoreResult | Promise<StoreResult> {
    this.metrics.countHeartbeat();
    // Checked first: nearly always empty, and the key would be a new string to build and hash per heartbeat.
    if (this.unrecorded.size > 0) this.unrecorded.delete(`end ${streamerId}`);
    const local = this.local.get(connectionId);
    if (local !== undefined) {
      local.ended = false;
      local.lastBeatAt = Date.now();
      if (meta !== undefined) local.meta = meta;
    }
    if (this.store.heartbeatNow !== undefined && !this.queue.busy(connectionId)) {
      let result: StoreResult;
      try {
        result = this.store.heartbeatNow(streamerId, connectionId, meta);
      } catch (error) {
        return Promise.reject(error);
      }
      return local === undefined ? result : answered(local, result);
    }
    const renewed = this.queue.run(connectionId, () => this.store.heartbeat(streamerId, connectionId, meta));
    return local === undefined ? renewed : renewed.then((result) => answered(local, result));
  }

  /** A connection of this pod closing that the store holds no place for: nothing to record, nothing to keep. */
  forget(connectionId: string): void {
    this.local.delete(connectionId);
  }

  disconnect(streamerId: string, connectionId: string): Promise<StoreResult> {
    this.local.delete(connectionId);
    const close = (): Promise<StoreResult> => this.queue.run(connectionId, () => this.store.disconnect(streamerId, connectionId));
    return close().catch((error: unknown) => {
      this.keepForReplay(`close ${connectionId}`, close);
      throw error;
    });
  }

  end(streamerId: string, connectionId: string): Promise<StoreResult> {
    // Its connections stay open, parked by the store for a TTL: this pod renews that from now on.
    for (const local of this.local.values()) {
      if (local.streamerId !== streamerId) continue;
      local.ended = true;
      local.keptAt = Date.now();
    }
    const sentAt = Date.now();
    return this.queue.run(connectionId, () => this.store.end(streamerId)).catch((error: unknown) => {
      // Sent again after the outage, it ends the stream of then, not one the streamer began since on
      // another pod (which cannot cancel it here, as a connect or heartbeat on this pod does).
      this.keepForReplay(`end ${streamerId}`, () => this.queue.run(connectionId, () => this.store.end(streamerId, sentAt)));
      throw error;
    });
  }

  private keepForReplay(key: string, operation: () => Promise<StoreResult>): void {
    this.unrecorded.delete(key);
    this.unrecorded.set(key, operation);
    if (this.unrecorded.size > UNRECORDED_MAX) this.unrecorded.delete(this.unrecorded.keys().next().value!);
  }

  /**
   * After the store was unreachable (or came back empty, or the shard layout changed), renews the lease
   * of every live connection on this pod, with its last meta, so presence is right again without any
   * client reconnecting. Returns how many were re-asserted; failures are left to the connections' next
   * heartbeats.
   *
   * Every connection's re-assert is queued at once, before any message that arrives during the recovery:
   * an `end` sent meanwhile then comes after it (and still makes the offline event), instead of finding
   * nothing to end and being overtaken by a re-assert that revives nobody. At most REASSERT_CONCURRENCY
   * store calls run at a time.
   *
   * Then the closes and ends the store could not take during the outage go again (after the re-asserts,
   * so an `end` still ends what a re-assert revived). One the store already took (its answer was lost)
   * changes nothing the second time.
   */
  async reassertLocal(): Promise<number> {
    let done = 0;
    let running = 0;
    const waiting: Array<() => void> = [];
    const slot = async (): Promise<() => void> => {
      if (running >= REASSERT_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
      running += 1;
      return () => {
        running -= 1;
        waiting.shift()?.();
      };
    };
    await Promise.all(
      [...this.local].map(([connectionId, local]) =>
        this.queue
          .run(connectionId, async () => {
            if (this.local.get(connectionId) !== local) return;
            const release = await slot();
            try {
              // Looked at once its slot came: an `end` that got there first stands. A connection silent for
              // the TTL has timed out (its offline may be out already): re-asserting it would revive it.
              // Both keep their places (a store that lost its data lost those too).
              if (local.ended || Date.now() - local.lastBeatAt >= this.config.presenceTtlMs) return await this.park(connectionId, local);
              // The deadline it had (last heartbeat + TTL), not a fresh TTL: a silent app stays silent.
              await this.store.heartbeat(local.streamerId, connectionId, local.meta, Math.max(0, Date.now() - local.lastBeatAt));
              done += 1;
            } finally {
              release();
            }
          })
          .catch(() => undefined),
      ),
    );
    await this.replayUnrecorded(slot);
    return done;
  }

  /**
   * Renews the places of this pod's connections that keep nobody online (see onApplicationBootstrap):
   * those that ended here, and those silent for half a TTL. An `end` sent on another pod parks them too,
   * for a TTL from then, which this pod does not hear of: by half a TTL of silence (a connection that
   * heartbeats on time never gets there) it is renewed well before that runs out. A connection that is
   * still live is left as it is by the store.
   */
  private keepPlaces(): void {
    const now = Date.now();
    for (const [connectionId, local] of this.local) {
      if (!local.ended && now - local.lastBeatAt < this.config.presenceTtlMs / 2) continue;
      if (now - local.keptAt < this.config.presenceTtlMs / 4) continue;
      local.keptAt = now;
      // A failure is left to the next round: a place lasts three of them.
      this.queue.run(connectionId, () => this.park(connectionId, local)).catch(() => undefined);
    }
  }

  /** Keeps the connection's place, parked (a re-assert as silent for the TTL): a live lease is left as it is. */
  private async park(connectionId: string, local: LocalConnection): Promise<void> {
    if (this.local.get(connectionId) !== local) return;
    const result = await this.store.heartbeat(local.streamerId, connectionId, undefined, this.config.presenceTtlMs);
    if (result.refused === undefined || this.local.get(connectionId) !== local) return;
    this.local.delete(connectionId);
    this.placeLost(local.streamerId, connectionId);
  }

  /** Sends again what `unrecorded` holds; what fails again stays for the next recovery. */
  private async replayUnrecorded(slot: () => Promise<() => void>): Promise<void> {
    await Promise.all(
      [...this.unrecorded].map(async ([key, operation]) => {
        const release = await slot();
        try {
          await operation();
          if (this.unrecorded.get(key) === operation) this.unrecorded.delete(key);
        } catch {
          // Still unreachable: kept.
        } finally {
          release();
        }
      }),
    );
  }

  /** A streamer known online that the store lost and nothing claimed since: offline (redis/lost-streamers.ts). */
  settleLost(streamerId: string, since: number): Promise<StoreResult> {
    return this.store.settleLost(streamerId, since);
  }

  /** Claims leases past their deadline; called by the sweeper. */
  expireDue(limit: number): Promise<StoreResult> {
    return this.store.expireDue(limit);
  }

  snapshot(streamerIds: readonly string[]): Promise<PresenceState[]> {
    return this.store.getMany(streamerIds);
  }

  listOnline(afterId: string | null, limit: number): Promise<OnlinePage> {
    return this.store.listOnline(afterId, limit);
  }

  countOnline(): Promise<number> {
    return this.store.countOnline();
  }

  connections(streamerId: string): Promise<ConnectionLeaseView[]> {
    return this.store.connections(streamerId);
  }

  timeline(streamerId: string, limit: number): Promise<TimelineEntry[]> {
    return this.store.timeline(streamerId, limit);
  }

  /** Resolves once no connection has a store operation in flight, or after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  }

}

/** A call the store took: the lease runs from about now (the store's clock read it a moment ago). */
function answered(local: LocalConnection, result: StoreResult): StoreResult {
  if (result.refused === undefined) local.lastBeatAt = Date.now();
  return result;
}
