import type { Logger } from '@nestjs/common';
import { TokenBucket } from '../presence/domain/token-bucket.js';

/** Lines a second each kind may log, in bursts of up to twice that. */
export const LINES_PER_SECOND = 5;

type Level = 'log' | 'warn';

/**
 * Log lines that clients cause (a refused message, a refused handshake), on a budget per kind (the
 * refusal's code): LINES_PER_SECOND a second, bursts of twice that. Past it a line is only counted, and
 * the kind's next line that is written says how many were left out before it (`notLogged`).
 *
 * An abuser's bad messages are refused by the hundred a second. One line each made its flood the log's
 * too: a line cost the pod about 60 µs of CPU, a fifth of a refused `subscribe`, and as much of the log
 * pipeline's. The first lines of a burst and the counts say what an operator needs; the metrics count
 * every refusal. Kinds are a fixed set (the refusal codes), so the budgets stay few.
 */
export class ThrottledLog {
  private readonly budgets = new Map<string, { readonly bucket: TokenBucket; notLogged: number }>();

  constructor(
    private readonly logger: Pick<Logger, Level>,
    private readonly ratePerSecond = LINES_PER_SECOND,
  ) {}

  /** Writes `entry` at `level` if `kind` has budget left at `now`; else counts it. */
  write(kind: string, entry: Record<string, unknown>, now: number, level: Level = 'log'): void {
    let budget = this.budgets.get(kind);
    if (budget === undefined) {
      budget = { bucket: new TokenBucket(this.ratePerSecond, now), notLogged: 0 };
      this.budgets.set(kind, budget);
    }
    if (!budget.bucket.take(now)) {
      budget.notLogged += 1;
      return;
    }
    this.logger[level](budget.notLogged > 0 ? { ...entry, notLogged: budget.notLogged } : entry);
    budget.notLogged = 0;
  }
}
