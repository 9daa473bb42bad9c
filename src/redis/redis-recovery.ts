import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/app-config.js';
import { Readiness } from '../health/readiness.js';
import { OutageLog } from '../logging/outage-log.js';
import { TRANSITION_LOG } from '../presence/application/injection-tokens.js';
import { readLogPages } from '../presence/application/log-pages.js';
import { OccupancyService } from '../presence/application/occupancy.service.js';
import { PodDirectory } from '../presence/application/pod-directory.js';
import { PresenceService } from '../presence/application/presence.service.js';
import { RecoverySteps } from '../presence/application/recovery-steps.js';
import { byLogOrder } from '../presence/domain/transition-log.js';
import type { TransitionLog } from '../presence/domain/transition-log.port.js';
import { ViewerBroadcaster } from '../presence/transport/viewer-broadcaster.js';
import { type Outage, RedisConnections } from './redis-connections.js';
import { LostStreamers } from './lost-streamers.js';
import { isReplayed, type ReplayWindow } from './replay-window.js';
import { ShardLayoutSync } from './shard-layout-sync.js';

/** How often the pod reads the deployment's shard layout (a pod that moves it is followed this fast). */
const LAYOUT_SYNC_MS = 1_000;
/**
 * The replay after an outage starts this long before the pod noticed it: noticing takes up to a probe
 * interval and a command timeout (2 s), and the log's clock (Redis's) may differ a little from the pod's.
 */
const REPLAY_MARGIN_MS = 3_000;
/**
 * An entry appended again after Redis lost its data (webhook-log-mirror.ts) is replayed when it was
 * decided at most this long before the pod noticed the outage; older ones had reached its viewers (see
 * `replay`). Wider than REPLAY_MARGIN_MS: what is appended again includes the pods' last 5 s of appends
 * (RecentAppends), which no relay may have delivered, and a stalled relay's entries wait 2 s for another
 * to take them over (viewer-relay.ts, STALLED_AFTER_MS), plus a second for its sweep.
 */
export const RESTORED_REPLAY_MARGIN_MS = 10_000;
const REPLAY_AGAIN_MS = 2_000;
/** After a loss, a streamer nothing claimed for the TTL and this long is settled offline (lost-streamers.ts). */
const LOST_SETTLE_MARGIN_MS = 1_000;
/** ...and once every live pod has re-asserted, waited for this long at most (lost-streamers.ts). */
const LOST_SETTLE_AWAIT_PODS_MS = 30_000;
/** Entries per shard per read, and reads at most: the replay is bounded whatever the outage's length. */
const REPLAY_PAGE = 500;
const REPLAY_MAX_PAGES = 20;

export const REDIS_CONNECTIONS = Symbol('RedisConnections');

/**
 * What a pod does about Redis coming and going: it is unready while Redis is unusable, and when Redis
 * is back (possibly empty) it re-asserts its live streamer connections and tells its viewers to resync,
 * since events published meanwhile may be lost. The same when the deployment's shard layout changes
 * (ShardLayoutSync): presence is then written under other keys, which start empty.
 */
@Injectable()
export class RedisRecovery implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RedisRecovery.name);
  private readonly layout: ShardLayoutSync;
  private readonly lost: LostStreamers;
  private layoutTimer: NodeJS.Timeout | null = null;
  private syncing = false;
  private readonly layoutOutage = new OutageLog(this.logger, 'shard layout not read; retrying every second', 'shard layout read again');

  constructor(
    @Inject(REDIS_CONNECTIONS) private readonly redis: RedisConnections,
    private readonly readiness: Readiness,
    private readonly presence: PresenceService,
    private readonly broadcaster: ViewerBroadcaster,
    private readonly occupancy: OccupancyService,
    private readonly steps: RecoverySteps,
    pods: PodDirectory,
    @Inject(TRANSITION_LOG) private readonly log: TransitionLog,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.layout = new ShardLayoutSync(redis.command, config.redisKeyPrefix, config.redisShards, redis.keys.layout);
    this.lost = new LostStreamers(redis.command, log, {
      epochKey: `${config.redisKeyPrefix}epoch`,
      marksPrefix: config.redisKeyPrefix,
      pod: config.podId,
      livePods: () => pods.live().map((status) => status.name),
      settleAfterMs: config.presenceTtlMs + LOST_SETTLE_MARGIN_MS,
      awaitPodsMaxMs: LOST_SETTLE_AWAIT_PODS_MS,
      settleLost: (id, since) => presence.settleLost(id, since),
      listOnline: (after, limit) => presence.listOnline(after, limit),
      keeps: pods.keepsLog,
    });
  }

  onApplicationBootstrap(): void {
    this.readiness.addCheck(() => this.redis.problem());
    this.redis.onRecovered((outage) => void this.recover('recovered from redis outage', outage));
    this.redis.start();
    this.layoutTimer = setInterval(() => void this.syncLayout(), LAYOUT_SYNC_MS);
    this.layoutTimer.unref();
    void this.syncLayout();
    this.lost.start();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.layoutTimer !== null) clearInterval(this.layoutTimer);
    await this.lost.stop();
  }

  private async syncLayout(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      // A failure is mostly an outage, which the probe reports and recovers from: said once, retried every tick.
      const changed = await this.layout.sync().then(
        (moved) => {
          this.layoutOutage.succeeded();
          return moved;
        },
        (error: unknown) => {
          this.layoutOutage.failed(error);
          return false;
        },
      );
      if (changed) await this.recover('moved to the new shard layout');
    } finally {
      this.syncing = false;
    }
  }

  /**
   * Runs the other modules' steps (RecoverySteps: the webhook log copy appends what the log lost), then
   * re-asserts this pod's connections and asks its viewers to resync. After an outage (`downSince`), it
   * also replays to this pod's viewers what the log holds since then: events published while this pod's
   * subscriptions were down reached nobody here, and a resync gives the latest state but not the
   * transitions. On a Cluster once more REPLAY_AGAIN_MS later, for subscriptions that came back later
   * than the rest (its sharded subscribers). Clients drop what they already have (same version).
   *
   * Not after an outage in which no connection closed (Redis stalled, or too slow for the probe): its
   * viewers missed nothing, and the resync and replays only sent every viewer of the pod a snapshot and
   * the last seconds' events again. In the full-scale soak each 2 s stall did that to 10,000 viewers at
   * once, some 45,000 repeated events, on a machine already short of CPU (RELIABILITY, finding 23).
   */
  private async recover(msg: string, outage: Outage | null = null): Promise<void> {
    await this.steps.runBeforeReassert();
    // A loss is found once per pod (the epoch moves on); the settle waits for every live pod's re-asserts.
    const epoch = outage === null ? null : await this.lost.beforeReassert().then(({ epoch: into }) => into, () => null);
    const reasserted = await this.presence.reassertLocal();
    if (epoch !== null) await this.lost.reasserted(epoch).catch(() => undefined);
    // Counts are written under the shard's keys, which a restart emptied or a new layout has not seen.
    this.occupancy.markAll();
    if (outage !== null && !outage.mayHaveMissedEvents) {
      this.logger.log({ msg, reasserted, replayed: 0, resync: false });
      return;
    }
    this.broadcaster.resync();
    const replayed = outage === null ? 0 : await this.replay(outage);
    this.logger.log({ msg, reasserted, replayed, resync: true });
    if (outage?.subscriptionsMayLag === true) setTimeout(() => void this.replay(outage), REPLAY_AGAIN_MS).unref();
  }

  /**
   * Emits to this pod's viewers what the log holds since shortly before the outage began (ms; the log's
   * clock is taken for the pod's); how many. Read from REPLAY_MARGIN_MS before it by position, and chosen
   * by `isReplayed` (replay-window.ts):
   * - by decision time as well: an entry appended again after Redis lost its data sits at a new position
   *   but was decided when it was, and one decided well before the outage (RESTORED_REPLAY_MARGIN_MS)
   *   had reached this pod's viewers then. After a receiver outage the log gets its whole backlog again,
   *   which each replay sent to every viewer of those streamers (RELIABILITY, finding 21);
   * - one the viewer relays had sent before this pod's outage (`viewersHad`, with the same margin)
   *   reached its subscriptions then;
   * - one appended after this pod's connections were all back (`until`, with the margin) was sent by a
   *   relay to subscriptions already back. A pod's recovery took up to 14 s at full scale, and every
   *   transition of those seconds went to every viewer again (finding 27).
   */
  private async replay(outage: Outage): Promise<number> {
    const from = Math.max(0, outage.since - REPLAY_MARGIN_MS);
    const window: ReplayWindow = {
      from,
      decidedFrom: outage.since - RESTORED_REPLAY_MARGIN_MS,
      appendedUntil: outage.subscriptionsMayLag ? Infinity : outage.until + REPLAY_MARGIN_MS,
    };
    const position = Array.from({ length: this.log.shardCount }, () => `${from}-0`);
    let replayed = 0;
    try {
      await readLogPages(this.log, position, REPLAY_PAGE, (shards) => {
        const entries = shards.flat().filter((entry) => isReplayed(entry, window)).sort(byLogOrder);
        for (const entry of entries) this.broadcaster.publishLocal(entry.event);
        replayed += entries.length;
      }, { maxPages: REPLAY_MAX_PAGES });
    } catch (error) {
      this.logger.warn({ msg: 'replay after outage failed; viewers have their resync', error: error instanceof Error ? error.message : String(error) });
    }
    return replayed;
  }
}
