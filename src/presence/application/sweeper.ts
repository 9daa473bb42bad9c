import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { APP_CONFIG } from '../../config/config.module.js';
import type { AppConfig } from '../../config/app-config.js';
import { OutageLog } from '../../logging/outage-log.js';
import { PresenceService } from './presence.service.js';

/** Leases claimed per store call; a backlog is worked through in several calls within one tick. */
const BATCH = 500;
const MAX_BATCHES_PER_TICK = 20;

/**
 * Turns passed deadlines (TTL, grace) into offline events. It ticks often enough that an offline event
 * goes out well within the contract's 1 s after its deadline, and runs on every pod: the store lets
 * exactly one caller claim each lease, so pods never publish an offline twice.
 */
@Injectable()
export class Sweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(Sweeper.name);
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly outage = new OutageLog(this.logger, 'sweep failed; retrying every tick', 'sweeps succeed again');

  constructor(
    private readonly presence: PresenceService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Between 10 and 250 ms: a tenth of the shortest deadline, so scaled-down tests stay precise too. */
  get intervalMs(): number {
    const shortest = Math.min(this.config.presenceTtlMs, this.config.reconnectGraceMs || this.config.presenceTtlMs);
    return Math.min(250, Math.max(10, Math.floor(shortest / 10)));
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let batch = 0; batch < MAX_BATCHES_PER_TICK; batch += 1) {
        const { events } = await this.presence.expireDue(BATCH);
        if (events.length < BATCH) break;
      }
      this.outage.succeeded();
    } catch (error) {
      this.outage.failed(error);
    } finally {
      this.running = false;
    }
  }
}
