/**
 * A per-connection message budget: `ratePerSecond` tokens a second, holding up to twice that, so a client
 * may burst (a reconnect that re-subscribes, a heartbeat next to an `end`) but not sustain a flood.
 * The caller passes `now`, so the rule is tested with exact timestamps. A rate of 0 means no limit.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly capacity: number;

  /** @param capacity how many tokens it holds (the largest burst) @default twice the rate */
  constructor(private readonly ratePerSecond: number, now: number, capacity = ratePerSecond * 2) {
    this.capacity = capacity;
    this.tokens = this.capacity;
    this.updatedAt = now;
  }

  /** Spends `count` tokens if there are that many; false (and nothing spent) means refuse. */
  take(now: number, count = 1): boolean {
    if (this.ratePerSecond === 0) return true;
    const elapsed = Math.max(0, now - this.updatedAt);
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed * this.ratePerSecond) / 1000);
    // A clock that steps back must not credit the same interval twice when it steps forward again.
    this.updatedAt = Math.max(this.updatedAt, now);
    if (this.tokens < count) return false;
    this.tokens -= count;
    return true;
  }
}
