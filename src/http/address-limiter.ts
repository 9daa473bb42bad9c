import { TokenBucket } from '../presence/domain/token-bucket.js';

/** Addresses tracked at most; the least recently seen are forgotten first (they start afresh). */
const MAX_ADDRESSES = 100_000;

/**
 * A rate per client address (a token bucket each, bursts of twice the rate), in this pod's memory and
 * bounded: past MAX_ADDRESSES the least recently seen address is forgotten. Per pod, not cluster-wide:
 * behind a load balancer an address gets the rate on each pod it reaches. A rate of 0 turns it off.
 */
export class AddressRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly ratePerSecond: number) {}

  /** Spends `count` (one request, or as many subscriptions) of `address`'s budget; false when over it. */
  allow(address: string, now: number, count = 1): boolean {
    if (this.ratePerSecond === 0) return true;
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.ratePerSecond, now);
      if (this.buckets.size >= MAX_ADDRESSES) this.buckets.delete(this.buckets.keys().next().value!);
    } else {
      this.buckets.delete(address); // re-inserted below: the Map's order is recency
    }
    this.buckets.set(address, bucket);
    return bucket.take(now, count);
  }
}
