import { Controller, Get, Header } from '@nestjs/common';
import { PresenceService } from '../presence/application/presence.service.js';
import { MetricsService } from './metrics.service.js';

@Controller()
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly presence: PresenceService,
  ) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    // The online count is read at scrape time; a store that cannot answer leaves the last value.
    await this.presence.countOnline().then(
      (count) => this.metrics.onlineStreamers.set(count),
      () => undefined,
    );
    return this.metrics.registry.metrics();
  }
}
