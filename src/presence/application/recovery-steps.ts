import { Injectable } from '@nestjs/common';

/**
 * What other modules do when the store is back after an outage (possibly empty), before this pod
 * re-asserts its connections (redis/redis-recovery.ts). Before, so that what they append to the log
 * (webhook-log-mirror.ts: entries the log lost) comes ahead of the re-asserts' events, in version order.
 */
@Injectable()
export class RecoverySteps {
  private readonly beforeReassert: Array<() => Promise<void>> = [];

  /** `step` runs at every recovery, before the re-asserts; a failure of it does not stop the recovery. */
  addBeforeReassert(step: () => Promise<void>): void {
    this.beforeReassert.push(step);
  }

  async runBeforeReassert(): Promise<void> {
    for (const step of this.beforeReassert) await step().catch(() => undefined);
  }
}
