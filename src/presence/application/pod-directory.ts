import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/app-config.js';
import { Readiness } from '../../health/readiness.js';
import { OutageLog } from '../../logging/outage-log.js';
import type { PodBeat, PodRegistry, PodStatus } from '../domain/pod-registry.port.js';
import { POD_REGISTRY } from './injection-tokens.js';

/** How often a pod beats in the registry. */
export const POD_BEAT_MS = 1_000;
/** A pod silent this long is gone: its viewers stop counting (so the bound is this plus a beat). */
export const POD_TTL_MS = 5_000;
/** A gone pod whose cleaner did not finish within this long is handed to another. */
export const POD_CLEANUP_MS = 30_000;

/**
 * Pods that keep copies of what only Redis holds (webhook-log-mirror.ts, lost-streamers.ts): the
 * longest-running ones. Each copy reads the whole log, so a deployment of hundreds of pods keeps three,
 * not hundreds; it survives any two of them dying with Redis's data.
 */
export const LOG_KEEPERS = 3;

type Live = PodStatus & { readonly seenAt: number };

/**
 * This pod's place among the pods: it beats every POD_BEAT_MS with its status, keeps the list of live
 * pods (the console's pods panel; occupancy counts only theirs), and cleans up after the gone pods the
 * registry hands it. A pod the registry lost (Redis restarted empty, or this pod stalled past the TTL
 * and was cleaned up after) takes a new name for this run, so what it writes again is never mistaken
 * for, or removed with, what it wrote before.
 */
@Injectable()
export class PodDirectory implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PodDirectory.name);
  private readonly outage = new OutageLog(this.logger, 'pod registry not reached; retrying every second', 'pod registry reached again');
  private current: string;
  private livePods = new Map<string, Live>();
  private timer: NodeJS.Timeout | null = null;
  /** The beat in flight, if any: shutdown waits for it, so its ZADD cannot land after `leave`. */
  private beating: Promise<void> | null = null;
  private beaten = false;
  private readonly startedAt = Date.now();
  private readonly sockets: Record<'streamers' | 'viewers', { readonly size: number } | null> = { streamers: null, viewers: null };
  private readonly renamedListeners: Array<() => void> = [];
  private readonly goneListeners: Array<(pod: string) => Promise<void>> = [];

  constructor(
    @Inject(POD_REGISTRY) private readonly registry: PodRegistry,
    private readonly readiness: Readiness,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.current = this.newName();
  }

  /** This run's name in the registry (POD_NAME and a suffix). */
  get pod(): string {
    return this.current;
  }

  /** Whether `pod`'s counts count: this pod's, and those of pods live at the last beat. */
  readonly counts = (pod: string): boolean => pod === this.current || this.livePods.has(pod);

  /** The live pods at the last beat. */
  live(): Live[] {
    return [...this.livePods.values()];
  }

  /**
   * Whether this pod is one of the LOG_KEEPERS longest-running live pods (ties by name). Before its first
   * beat, and while the registry is unreachable, it goes by the last list it had (none: it is one). Its
   * own earlier runs (its POD_NAME) do not count: a pod SIGKILLed and started again is listed under its
   * old run for a POD_TTL_MS, older than itself, and with three pods it dropped its copies meanwhile.
   */
  readonly keepsLog = (): boolean => {
    const older = this.live().filter((p) => p.pod !== this.current && p.name !== this.config.podId && (p.startedAt < this.startedAt || (p.startedAt === this.startedAt && p.pod < this.current)));
    return older.length < LOG_KEEPERS;
  };

  /** Where the status finds this pod's open sockets of each kind (the gateways' namespaces). */
  countSockets(kind: 'streamers' | 'viewers', sockets: { readonly size: number }): void {
    this.sockets[kind] = sockets;
  }

  /** Called when this pod took a new name: whatever it wrote under the old one is being removed. */
  onRenamed(listener: () => void): void {
    this.renamedListeners.push(listener);
  }

  /** Called to clean up after a gone pod; the pod is reported forgotten once every listener is done. */
  onGone(listener: (pod: string) => Promise<void>): void {
    this.goneListeners.push(listener);
  }

  async onApplicationBootstrap(): Promise<void> {
    // Registered before the first connection: the other pods count this one's viewers from its first count.
    await this.beat();
    this.timer = setInterval(() => void this.beat(), POD_BEAT_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    // The others stop counting this pod's viewers at their next beat, not after the TTL.
    await this.registry.leave(this.current).catch(() => undefined);
  }

  private beat(): Promise<void> {
    this.beating ??= this.beatOnce().finally(() => (this.beating = null));
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    try {
      const answer = await this.registry.beat(this.status());
      this.outage.succeeded();
      if (answer.wasAbsent && this.beaten) await this.rename();
      else this.remember(answer);
      this.beaten = true;
      for (const pod of answer.gone) if (pod !== this.current) void this.cleanUpAfter(pod);
    } catch (error) {
      this.outage.failed(error);
    }
  }

  private async rename(): Promise<void> {
    const old = this.current;
    this.current = this.newName();
    this.logger.warn({ msg: 'the pod registry had lost this pod; it registers under a new name', old, pod: this.current });
    await this.registry.leave(old).catch(() => undefined);
    this.remember(await this.registry.beat(this.status()));
    for (const listener of this.renamedListeners) listener();
  }

  private remember(answer: PodBeat): void {
    this.livePods = new Map(answer.live.map((status) => [status.pod, status]));
  }

  private async cleanUpAfter(pod: string): Promise<void> {
    try {
      for (const listener of this.goneListeners) await listener(pod);
      await this.registry.forgotten(pod);
      this.logger.log({ msg: 'cleaned up after a gone pod', gone: pod, pod: this.current });
    } catch (error) {
      // The registry hands it out again after POD_CLEANUP_MS.
      this.logger.warn({ msg: 'clean-up after a gone pod failed', gone: pod, error: String(error) });
    }
  }

  private status(): PodStatus {
    return {
      pod: this.current,
      name: this.config.podId,
      startedAt: this.startedAt,
      streamers: this.sockets.streamers?.size ?? 0,
      viewers: this.sockets.viewers?.size ?? 0,
      ready: this.readiness.problems().length === 0,
      draining: this.readiness.isDraining,
    };
  }

  private newName(): string {
    return `${this.config.podId}/${randomBytes(4).toString('hex')}`;
  }
}
