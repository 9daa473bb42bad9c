import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ONLINE_SAMPLE_MS, type OnlineSeries } from '../domain/online-series.port.js';
import { ONLINE_SERIES } from './injection-tokens.js';
import { PresenceService } from './presence.service.js';

/**
 * Every pod offers a sample of the online count each ONLINE_SAMPLE_MS; the series keeps the first of each
 * interval, so the console's hour-long chart survives any pod. A failed count or offer skips a sample.
 */
@Injectable()
export class OnlineSampler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(ONLINE_SERIES) private readonly series: OnlineSeries,
    private readonly presence: PresenceService,
  ) {}

  onApplicationBootstrap(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), ONLINE_SAMPLE_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer !== null) clearInterval(this.timer);
  }

  private async sample(): Promise<void> {
    try {
      await this.series.offer({ at: Date.now(), online: await this.presence.countOnline() });
    } catch {
      // The next interval's sample fills in; the chart shows the gap.
    }
  }
}
