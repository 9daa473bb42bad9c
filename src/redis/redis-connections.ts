import { Logger } from '@nestjs/common';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisTopology } from '../config/redis-url.js';
import { BatchedShardSubscriptions } from './batched-shard-subscriptions.js';

/** How long any command may take before it fails (and the caller answers `unavailable`). */
export const COMMAND_TIMEOUT_MS = 1_000;
/** The longest a relay's blocking read (XREADGROUP … BLOCK) waits; its connection's timeout allows for it. */
export const RELAY_BLOCK_MAX_MS = 1_000;
/** How often the command connection is probed; a frozen Redis keeps its sockets open, so only a probe sees it. */
const PROBE_INTERVAL_MS = 1_000;

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
  readonly command: Redis;
  readonly publisher: Redis;
  readonly subscriber: Redis;
  readonly relay: Redis;
  /** The webhook dispatcher's blocking reads, when webhooks are on; else null. */
  readonly webhooks: Redis | null;
  private readonly subscriptions: BatchedShardSubscriptions;
  private readonly logger = new Logger(RedisConnections.name);
  private readonly recoveryListeners: Array<() => void> = [];
  /** Connections whose error has been logged since they were last ready. */
  private readonly failing = new Set<string>();
  private probeTimer: NodeJS.Timeout | null = null;
  private probeOk = false;
  private wasDown = false;

  constructor(topology: RedisTopology, options: { webhooks: boolean } = { webhooks: false }) {
    const connect = (connectionOptions: RedisOptions): Redis => connectTo(topology, connectionOptions);
    const bounded: RedisOptions = { commandTimeout: COMMAND_TIMEOUT_MS, enableOfflineQueue: false, maxRetriesPerRequest: 1 };
    // Auto-pipelining sends the commands issued in one event-loop tick in one write: under load the
    // per-command socket write was the pod's largest single cost (npm run bench).
    this.command = connect({ ...bounded, connectionName: 'presence-command', enableAutoPipelining: true });
    this.publisher = connect({ ...bounded, connectionName: 'presence-publish' });
    this.subscriber = connect({ connectionName: 'presence-subscribe', enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriptions = new BatchedShardSubscriptions(this.subscriber);
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

  /** Called each time Redis is usable again after having been unusable. */
  onRecovered(listener: () => void): void {
    this.recoveryListeners.push(listener);
  }

  /**
   * Resolves once every subscription requested so far on the subscriber connection is in force: Redis
   * answers one connection's commands in order, so a PING reply comes after the earlier SSUBSCRIBEs.
   * Gives up after the command timeout (the caller then proceeds; a resync covers the rest).
   */
  async subscriptionsSettled(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, COMMAND_TIMEOUT_MS);
    });
    this.subscriptions.flush();
    await Promise.race([this.subscriber.ping().then(() => undefined, () => undefined), timeout]);
    clearTimeout(timer);
  }

  /**
   * Resolves once everything published so far on the publisher connection has reached Redis: its PING
   * is answered after them. Rejects after the command timeout.
   */
  async published(): Promise<void> {
    await this.publisher.ping();
  }

  async close(): Promise<void> {
    if (this.probeTimer !== null) clearInterval(this.probeTimer);
    await Promise.all(this.named().map(([, client]) => client.quit().catch(() => client.disconnect())));
  }

  private async probe(): Promise<void> {
    try {
      await this.command.ping();
      this.probeOk = true;
      await this.checkRecovered();
    } catch {
      if (this.probeOk) this.logger.warn({ msg: 'redis stopped answering' });
      this.probeOk = false;
      this.wasDown = true;
    }
  }

  private markDown(connection: string): void {
    if (!this.wasDown) this.logger.warn({ msg: 'redis connection lost', connection });
    this.wasDown = true;
  }

  private async checkRecovered(): Promise<void> {
    if (!this.wasDown || this.problem() !== null) return;
    this.wasDown = false;
    await this.subscriptionsSettled();
    this.logger.log({ msg: 'redis usable again: re-asserting connections, asking viewers to resync' });
    for (const listener of this.recoveryListeners) listener();
  }

  private named(): Array<[string, Redis]> {
    return [
      ['command', this.command],
      ['publisher', this.publisher],
      ['subscriber', this.subscriber],
      ['relay', this.relay],
      ...(this.webhooks === null ? [] : ([['webhooks', this.webhooks]] as Array<[string, Redis]>)),
    ];
  }
}

/**
 * One connection to the topology's primary. With Sentinel, ioredis asks the sentinels where the primary
 * is, and asks again whenever the connection drops (a failover), so every connection follows it.
 */
function connectTo(topology: RedisTopology, options: RedisOptions): Redis {
  switch (topology.kind) {
    case 'single':
      return new Redis(topology.url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
        name: topology.masterName,
        ...(topology.username === undefined ? {} : { username: topology.username }),
        ...(topology.password === undefined ? {} : { password: topology.password }),
        ...(topology.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      });
    case 'cluster':
      throw new Error('Redis Cluster is not supported by this version yet (config refuses it)');
  }
}
