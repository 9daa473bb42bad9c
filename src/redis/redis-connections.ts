import { Logger } from '@nestjs/common';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTopology } from '../config/redis-url.js';
import type { RedisKeys } from '../presence/infrastructure/redis/redis-keys.js';
import { BatchedShardSubscriptions } from './batched-shard-subscriptions.js';
import { PublishFence } from './publish-fence.js';
import type { RedisClient } from './redis-client.js';

/** How long any command may take before it fails (and the caller answers `unavailable`). */
export const COMMAND_TIMEOUT_MS = 1_000;
/** The longest a relay's blocking read (XREADGROUP … BLOCK) waits; its connection's timeout allows for it. */
export const RELAY_BLOCK_MAX_MS = 1_000;
/** How often the command connection is probed; a frozen Redis keeps its sockets open, so only a probe sees it. */
const PROBE_INTERVAL_MS = 1_000;
/**
 * How often a Cluster client re-reads the slot map by itself (besides on MOVED and on a lost node): after
 * a failover, a node that only receives (the sharded subscribers) learns of the new primary this fast.
 */
const SLOTS_REFRESH_MS = 1_000;
/** The longest pause between reconnect attempts (see `reconnectDelay`). */
const RECONNECT_DELAY_MAX_MS = 500;

/**
 * The three connections a pod holds to Redis (ioredis, pinned to 6.0.0 and tested with the adapter):
 * - `command`: presence scripts and reads. A command timeout and no offline queue, so while Redis is
 *   unreachable calls fail within a second instead of piling up; auto-pipelined.
 * - `publisher`: the Socket.IO adapter's publishes, with the same limits.
 * - `subscriber`: the adapter's subscriptions. It queues while disconnected and re-subscribes by itself
 *   when Redis comes back (ioredis `autoResubscribe`).
 * - `relay` (and `webhooks`, when webhooks are on): the relays' blocking reads of the transition log,
 *   which hold their connection while they wait; their timeout is the longest block plus the command timeout.
 * It tracks whether Redis is usable (for /readyz) and tells listeners when it is usable again after an
 * outage, so the pod can re-assert its connections and ask its viewers to resync.
 */
export class RedisConnections {
  readonly command: RedisClient;
  readonly publisher: RedisClient;
  readonly subscriber: RedisClient;
  readonly relay: RedisClient;
  /** The webhook dispatcher's blocking reads, when webhooks are on; else null. */
  readonly webhooks: RedisClient | null;
  private readonly subscriptions: BatchedShardSubscriptions;
  private readonly publishes: PublishFence;
  private readonly logger = new Logger(RedisConnections.name);
  private readonly recoveryListeners: Array<(outage: Outage) => void> = [];
  /** When (this pod's clock) Redis was first seen unusable in the current outage. */
  private downSince: number | null = null;
  /** Connections whose error has been logged since they were last ready. */
  private readonly failing = new Set<string>();
  private probeTimer: NodeJS.Timeout | null = null;
  private probeOk = false;
  private wasDown = false;
  /** A connection closed (or a Cluster's subscriber lost a node) in the current outage. */
  private connectionLost = false;

  /**
   * @param keys the deployment's key layout, shared by the store, the logs and the leases (its shard
   *   count follows the one recorded in Redis, see ShardLayoutSync). On a Cluster the probe reads a key of
   *   each shard, so a pod is not ready while any shard's primary is unreachable (a PING of the primaries
   *   it still knows would pass once the client has dropped a dead one).
   */
  constructor(
    topology: RedisTopology,
    readonly keys: RedisKeys,
    options: { webhooks: boolean } = { webhooks: false },
  ) {
    const connect = (connectionOptions: RedisOptions, shardedSubscriber = false): RedisClient => connectTo(topology, connectionOptions, shardedSubscriber);
    // A command these connections' callers gave up on (its timeout passed) must never be carried out
    // later: they retry in order themselves (one connection's operations are queued), so a heartbeat
    // ioredis sent again on its own after a reconnect could land after the `end` that followed it and
    // revive the streamer for a TTL (test/integration/redis-late-commands.test.ts).
    const bounded: RedisOptions = { commandTimeout: COMMAND_TIMEOUT_MS, enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy: reconnectDelay, autoResendUnfulfilledCommands: false };
    // Auto-pipelining sends the commands issued in one event-loop tick in one write: under load the
    // per-command socket write was the pod's largest single cost (npm run bench).
    this.command = connect({ ...bounded, connectionName: 'presence-command', enableAutoPipelining: true });
    this.publisher = connect({ ...bounded, connectionName: 'presence-publish' });
    this.subscriber = connect({ connectionName: 'presence-subscribe', enableOfflineQueue: true, maxRetriesPerRequest: null, retryStrategy: reconnectDelay }, true);
    this.subscriptions = new BatchedShardSubscriptions(this.subscriber);
    this.publishes = new PublishFence(this.publisher);
    const blocking: RedisOptions = { ...bounded, commandTimeout: RELAY_BLOCK_MAX_MS + COMMAND_TIMEOUT_MS };
    this.relay = connect({ ...blocking, connectionName: 'presence-relay' });
    this.webhooks = options.webhooks ? connect({ ...blocking, connectionName: 'presence-webhooks' }) : null;
    for (const [name, client] of this.named()) {
      // Without a listener ioredis reports every failed reconnect as an unhandled error event.
      // Once per outage and connection: ioredis retries every few milliseconds while Sentinel still names
      // a dead primary, and each retry's error would be a line.
      client.on('error', (error: Error) => {
        if (this.failing.has(name)) return;
        this.failing.add(name);
        this.logger.warn({ msg: 'redis connection error', connection: name, error: error.message });
      });
      client.on('ready', () => this.failing.delete(name));
      client.on('close', () => this.markDown(name));
    }
    this.subscriber.on('ready', () => void this.checkRecovered());
    // A Cluster's sharded subscribers: one per primary, replaced by ioredis when a primary goes (its
    // channels re-subscribed on the new one). Until then events to those channels are lost here: an
    // outage, recovered (re-assert, resync, replay) once they are all back.
    if (this.subscriber instanceof Cluster) {
      this.subscriber.on('-node', () => this.markDown('subscriber'));
      this.subscriber.on('subscribersReady', () => void this.checkRecovered());
    }
  }

  /** Starts probing; call once the app is up. */
  start(): void {
    this.probeTimer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS);
    this.probeTimer.unref();
    void this.probe();
  }

  /** Why Redis is not usable right now, or null when it is. */
  problem(): string | null {
    if (this.command.status !== 'ready') return `redis command connection ${this.command.status}`;
    if (this.subscriber.status !== 'ready') return `redis subscriber connection ${this.subscriber.status}`;
    if (!this.probeOk) return 'redis not answering';
    return null;
  }

  /** Called each time Redis is usable again after having been unusable (see Outage). */
  onRecovered(listener: (outage: Outage) => void): void {
    this.recoveryListeners.push(listener);
  }

  /**
   * Resolves once every subscription requested so far on the subscriber connection is in force (Redis
   * answered it, on whichever node). Gives up after the command timeout (the caller then proceeds; a
   * resync covers the rest).
   */
  subscriptionsSettled(): Promise<boolean> {
    return this.subscriptions.settled(COMMAND_TIMEOUT_MS);
  }

  /**
   * Resolves once everything published so far has reached Redis; rejects if a publish failed, or after
   * the command timeout.
   */
  async published(): Promise<void> {
    await this.within(this.publishes.settled(), () => new Error(`publishes not answered within ${COMMAND_TIMEOUT_MS} ms`));
  }

  /** `work`, or after the command timeout: resolved, or rejected with `timedOut()` when given. */
  private async within(work: Promise<void>, timedOut?: () => Error): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => (timedOut === undefined ? resolve() : reject(timedOut())), COMMAND_TIMEOUT_MS);
    });
    try {
      await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    // QUIT, so that Redis reads a clean goodbye; what has not answered within the command timeout is
    // dropped. Unbounded, a pod stopped while Redis was unreachable never exited: the subscriber queues
    // commands while disconnected, QUIT among them, and nothing times them out (RELIABILITY finding 19,
    // test/integration/drain-redis-down.test.ts).
    await Promise.all(
      this.named().map(([, client]) => this.within(client.quit().then(ignore, ignore)).finally(() => client.disconnect())),
    );
  }

  private async probe(): Promise<void> {
    try {
      // Bounded: a Cluster client retries a command whose node is gone until the slot map changes, so
      // during a failover the probe would otherwise wait it out and never say the pod cannot serve.
      await this.within(this.command instanceof Cluster ? this.probeShards(this.command) : this.command.ping().then(() => undefined), () => new Error('probe not answered'));
      this.probeOk = true;
      await this.checkRecovered();
    } catch {
      if (this.probeOk) this.logger.warn({ msg: 'redis stopped answering' });
      this.probeOk = false;
      this.setDown();
    }
  }

  /** Every shard's primary answers (one keyed read each, routed by its slot), and every primary known. */
  private async probeShards(cluster: Cluster): Promise<void> {
    const shards = Array.from({ length: this.keys.shardCount }, (_, shard) => this.keys.online(shard));
    await Promise.all([...shards.map((key) => cluster.exists(key)), ...cluster.nodes('master').map((node) => node.ping())]);
  }

  private markDown(connection: string): void {
    if (!this.wasDown) this.logger.warn({ msg: 'redis connection lost', connection });
    this.connectionLost = true;
    this.setDown();
  }

  private setDown(): void {
    this.wasDown = true;
    this.downSince ??= Date.now();
  }

  private async checkRecovered(): Promise<void> {
    if (!this.wasDown || this.problem() !== null) return;
    this.wasDown = false;
    const until = Date.now();
    const since = this.downSince ?? until;
    const connectionLost = this.connectionLost;
    this.downSince = null;
    this.connectionLost = false;
    const subscribed = await this.subscriptionsSettled();
    // A Cluster's stalled primary may be failed over while it stalls: the client then moves its channels
    // to the new primary without a '-node' (ioredis stops that shard's subscriber quietly), and what was
    // published there before they moved is lost here. So on a Cluster every outage is taken as one.
    const subscriptionsMayLag = this.subscriber instanceof Cluster;
    const mayHaveMissedEvents = connectionLost || !subscribed || subscriptionsMayLag;
    this.logger.log({ msg: mayHaveMissedEvents ? 'redis usable again: re-asserting connections, asking viewers to resync' : 'redis answering again, no connection lost: re-asserting connections', downForMs: Date.now() - since });
    for (const listener of this.recoveryListeners) listener({ since, mayHaveMissedEvents, until, subscriptionsMayLag });
  }

  private named(): Array<[string, RedisClient]> {
    return [
      ['command', this.command],
      ['publisher', this.publisher],
      ['subscriber', this.subscriber],
      ['relay', this.relay],
      ...(this.webhooks === null ? [] : ([['webhooks', this.webhooks]] as Array<[string, RedisClient]>)),
    ];
  }
}

/** An outage this pod has come through: Redis was unusable from `since` (this pod's clock) until now. */
export interface Outage {
  readonly since: number;
  /**
   * Whether this pod's viewers may have missed events: a connection closed meanwhile (a restart, a
   * failover, a network cut), a subscription asked for meanwhile is still not answered, or Redis is a
   * Cluster (see `checkRecovered`). False when one Redis (or a Sentinel set's primary) only stopped
   * answering for a while (stalled, or slow) and every connection stayed up: what other pods published
   * meanwhile waits on the connections and reaches the subscriber once Redis runs again.
   */
  readonly mayHaveMissedEvents: boolean;
  /** When this pod found every connection up again (its clock): what was published after it reached the subscriber. */
  readonly until: number;
  /** A Cluster's sharded subscribers: some may come back after the rest (replayed again, to the end of the log). */
  readonly subscriptionsMayLag: boolean;
}

/**
 * The pause before reconnect attempt `times`: ioredis's default grows to 2 s, which after a failover of
 * a few seconds means a pod can sit out up to 2 s more while the new primary is there; capped at 500 ms.
 */
function reconnectDelay(times: number): number {
  return Math.min(times * 50, RECONNECT_DELAY_MAX_MS);
}

/**
 * One connection to the topology's primary, or a Cluster client. With Sentinel, ioredis asks the
 * sentinels where the primary is, and asks again whenever the connection drops (a failover), so every
 * connection follows it. A Cluster client holds a connection per node, routes each command by its keys'
 * slot, and follows MOVED replies and slot-map changes after a failover; the subscriber uses ioredis's
 * sharded subscribers (one per primary), so each SSUBSCRIBE reaches the node that owns its channel.
 */
function connectTo(topology: RedisTopology, options: RedisOptions, shardedSubscriber: boolean): RedisClient {
  switch (topology.kind) {
    case 'single':
      return new Redis(topology.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
        name: topology.masterName,
        ...credentialsOf(topology),
        ...(topology.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      });
    case 'cluster': {
      const { enableOfflineQueue, enableAutoPipelining, connectionName, ...perNode } = options;
      const clusterOptions: ClusterOptions = {
        redisOptions: { ...perNode, ...(connectionName === undefined ? {} : { connectionName }), ...credentialsOf(topology), ...(topology.tls ? { tls: {} } : {}) },
        // With TLS, nodes are reached by the names given, not by the addresses they resolve to: a managed
        // cluster's certificate names its hosts (ioredis's advice for ElastiCache and the like).
        ...(topology.tls ? { dnsLookup: (address: string, callback: (error: Error | null, address: string) => void) => callback(null, address) } : {}),
        ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
        // The same for a Cluster: its client sends a command again, to whichever node then holds the slot,
        // when the connection it went on closes or the cluster is down, even one whose promise its timeout
        // already rejected. The store retries those failures itself, in order (redis-presence.store.ts).
        // MOVED and ASK redirects stay: those commands were refused, not carried out.
        ...(enableOfflineQueue === false ? { retryDelayOnFailover: 0, retryDelayOnClusterDown: 0 } : {}),
        ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
        slotsRefreshInterval: SLOTS_REFRESH_MS,
        // The subscriber's SSUBSCRIBEs go to the primary that owns each channel's slot.
        shardedSubscribers: shardedSubscriber,
      };
      return new Cluster(
        topology.nodes.map(({ host, port }) => ({ host, port })),
        clusterOptions,
      );
    }
  }
}

function credentialsOf(topology: { username?: string; password?: string }): { username?: string; password?: string } {
  return {
    ...(topology.username === undefined ? {} : { username: topology.username }),
    ...(topology.password === undefined ? {} : { password: topology.password }),
  };
}

/** QUIT's answer, or its failure, is not waited on beyond the bound in `close`, nor used. */
function ignore(): void {}
