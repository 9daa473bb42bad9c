/** How long one bucket of samples lasts; the estimate is the lower of the last two buckets' bests. */
const BUCKET_MS = 10_000;

/**
 * This pod's reading of one Redis server's `TIME` (the deadlines' clock), from the server times its
 * replies carry: a heartbeat is judged as of when the pod received it (lua/heartbeat.lua), not when a
 * stalled Redis got round to running it. One per shard: a Cluster's primaries each have a clock.
 *
 * Each reply bounds Redis's clock from above: it read `serverTime` after the call was sent, so at the
 * moment of sending Redis's clock showed at most `serverTime`. The best (lowest) such offset of the
 * last 10–20 s is kept: a reply that waited out a stall says nothing useful and is outbid by the quick
 * ones around it, and a step of the pod's clock is forgotten within 20 s.
 *
 * An estimate from above is never earlier than Redis's clock truly was (only a backward step of the
 * pod's clock within the window makes it so, and the script bounds how far back it looks). It is
 * measured on the pod's wall clock (`Date.now()`), the one the samples were taken on.
 */
export class RedisClockEstimate {
  private current = Number.POSITIVE_INFINITY;
  private previous = Number.POSITIVE_INFINITY;
  private bucketEndsAt: number;

  /** @param monotonic when buckets roll over; a clock that never steps (`performance.now`) */
  constructor(private readonly monotonic: () => number = () => performance.now()) {
    this.bucketEndsAt = monotonic() + BUCKET_MS;
  }

  /** A reply: Redis read `serverTime` (ms) at some moment after this pod sent the call at `sentAt` (its `Date.now()`). */
  observe(sentAt: number, serverTime: number): void {
    if (!Number.isFinite(sentAt) || !Number.isFinite(serverTime) || serverTime <= 0) return;
    this.roll();
    this.current = Math.min(this.current, serverTime - sentAt);
  }

  /**
   * What to add to a time on this pod's clock for Redis's clock then, from above; null before the first
   * reply. One read serves a whole call's heartbeats.
   */
  offset(): number | null {
    this.roll();
    const offset = Math.min(this.current, this.previous);
    return Number.isFinite(offset) ? offset : null;
  }

  private roll(): void {
    const now = this.monotonic();
    if (now < this.bucketEndsAt) return;
    // Idle for more than a whole bucket: the previous bucket's samples are too old to keep either.
    this.previous = now < this.bucketEndsAt + BUCKET_MS ? this.current : Number.POSITIVE_INFINITY;
    this.current = Number.POSITIVE_INFINITY;
    this.bucketEndsAt = now + BUCKET_MS;
  }
}
