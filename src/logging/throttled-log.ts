import type { Logger } from '@nestjs/common';
import { TokenBucket } from '../presence/domain/token-bucket.js';

/** Lines a second each kind may log, in bursts of up to twice that. */
export const LINES_PER_SECOND = 5;
/** How long after a line is left out the count of those left out is written, if no line of the kind said it. */
export const COUNT_AFTER_MS = 1_000;

type Level = 'log' | 'warn';

interface Budget {
  readonly bucket: TokenBucket;
  /** Lines of the kind left out since its last line written. */
  notLogged: number;
  level: Level;
}

/**
 * Log lines that clients cause (a refused message, a refused handshake, a connect or close the store
 * could not record in an outage), on a budget per kind (a refusal's code, or the outage line's name):
 * LINES_PER_SECOND a second, bursts of twice that. Past it a line is only counted. The
 * kind's next line that is written says how many were left out before it (`notLogged`), and so does a
 * line of its own COUNT_AFTER_MS later if none was, so the count of a flood's last second reaches the log.
 *
 * An abuser's bad messages are refused by the hundred a second. One line each made its flood the log's
 * too: a line cost the pod about 60 µs of CPU, a fifth of a refused `subscribe`, and as much of the log
 * pipeline's. The first lines of a burst and the counts say what an operator needs; the metrics count
 * every refusal. Kinds are a fixed set (names in the code, never from a client), so the budgets stay few.
 */
export class ThrottledLog {
  private readonly budgets = new Map<string, Budget>();
  private countDue = false;

  /** @param later runs the count's line once, COUNT_AFTER_MS from now @default an unref'd timer */
  constructor(
    private readonly logger: Pick<Logger, Level>,
    private readonly ratePerSecond = LINES_PER_SECOND,
    private readonly later: (writeCounts: () => void) => void = (writeCounts) => void setTimeout(writeCounts, COUNT_AFTER_MS).unref(),
  ) {}

  /** Writes `entry` at `level` if `kind` has budget left at `now`; else counts it. */
  write(kind: string, entry: Record<string, unknown>, now: number, level: Level = 'log'): void {
    let budget = this.budgets.get(kind);
    if (budget === undefined) {
      budget = { bucket: new TokenBucket(this.ratePerSecond, now), notLogged: 0, level };
      this.budgets.set(kind, budget);
    }
    budget.level = level;
    if (!budget.bucket.take(now)) {
      budget.notLogged += 1;
      if (!this.countDue) {
        this.countDue = true;
        this.later(() => this.writeCounts());
      }
      return;
    }
    this.logger[level](budget.notLogged > 0 ? { ...entry, notLogged: budget.notLogged } : entry);
    budget.notLogged = 0;
  }

  /** One line for each kind with lines left out that no line has counted yet. */
  private writeCounts(): void {
    this.countDue = false;
    for (const [kind, budget] of this.budgets) {
      if (budget.notLogged === 0) continue;
      this.logger[budget.level]({ msg: 'lines not logged', kind, notLogged: budget.notLogged });
      budget.notLogged = 0;
    }
  }
}
