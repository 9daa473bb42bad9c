/** Exponential backoff with full jitter (pure: the random source is a parameter). */
export interface BackoffOptions {
  /** Upper bound of the first delay. @default 500 */
  initialMs?: number;
  /** No delay is ever longer than this. @default 30000 */
  maxMs?: number;
}

export const DEFAULT_BACKOFF: Required<BackoffOptions> = { initialMs: 500, maxMs: 30_000 };

/**
 * The delay before retry number `attempt` (0 for the first retry): a uniformly random duration in
 * `[0, min(maxMs, initialMs × 2^attempt))`. Full jitter, so that clients a pod dropped all at once do
 * not come back all at once. `random` returns a number in `[0, 1)` like `Math.random`.
 */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const { initialMs, maxMs } = { ...DEFAULT_BACKOFF, ...options };
  // 2^attempt overflows to Infinity past ~1024; min() keeps the cap either way.
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt));
  return Math.floor(random() * ceiling);
}

/** Counts consecutive failures and hands out their delays; `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number,
  ) {
    const { initialMs, maxMs } = { ...DEFAULT_BACKOFF, ...options };
    if (!(initialMs > 0) || !(maxMs >= initialMs)) {
      throw new RangeError(`backoff: need 0 < initialMs <= maxMs, got initialMs ${initialMs}, maxMs ${maxMs}`);
    }
  }

  /** The delay before the next retry; each call counts one more failure. */
  next(): number {
    return backoffDelay(this.attempt++, this.options, this.random);
  }

  /** How many delays were handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  reset(): void {
    this.attempt = 0;
  }
}
