import type { Logger } from '@nestjs/common';

/**
 * Logs a loop's failures once per outage, not at every retry (a sweeper ticks four times a second, a
 * relay retries every 250 ms), and once more when it works again; the failing component's own errors
 * say the rest.
 */
export class OutageLog {
  private failing = false;

  constructor(
    private readonly logger: Logger,
    private readonly failingMsg: string,
    private readonly recoveredMsg: string,
  ) {}

  failed(error: unknown): void {
    if (!this.failing) this.logger.warn({ msg: this.failingMsg, error: String(error) });
    this.failing = true;
  }

  succeeded(): void {
    if (this.failing) this.logger.log({ msg: this.recoveredMsg });
    this.failing = false;
  }
}
