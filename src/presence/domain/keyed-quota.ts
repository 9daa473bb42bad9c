/**
 * How much of something each key holds on this pod, against a cap: subscriptions and open connections
 * per client address (anonymous clients are free to open sockets, so a per-socket limit alone would let
 * one address make a pod hold any number of them), open sockets per streamer id. Keys holding none are
 * forgotten. A cap of 0 turns it off.
 */
export class KeyedQuota {
  private readonly held = new Map<string, number>();

  constructor(private readonly cap: number) {}

  /** Takes `count` more for `key`; false (and nothing taken) when that would pass the cap. */
  reserve(key: string, count: number): boolean {
    const now = this.held.get(key) ?? 0;
    if (this.cap > 0 && now + count > this.cap) return false;
    if (count > 0) this.held.set(key, now + count);
    return true;
  }

  /** Whether `key` holds its whole cap already. */
  isFull(key: string): boolean {
    return this.cap > 0 && (this.held.get(key) ?? 0) >= this.cap;
  }

  release(key: string, count: number): void {
    const left = (this.held.get(key) ?? 0) - count;
    if (left > 0) this.held.set(key, left);
    else this.held.delete(key);
  }
}
