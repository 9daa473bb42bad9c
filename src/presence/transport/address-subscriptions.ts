/**
 * Subscriptions held per client address on this pod, against a cap: anonymous viewers are free to
 * open sockets, so a per-socket limit alone would let one address make a pod hold (and, in Redis mode,
 * subscribe to) any number of streamers' channels. Addresses with none are forgotten.
 */
export class AddressSubscriptions {
  private readonly held = new Map<string, number>();

  constructor(private readonly cap: number) {}

  /** Takes `count` more for `address`; false (and nothing taken) when that would pass the cap. */
  reserve(address: string, count: number): boolean {
    const now = this.held.get(address) ?? 0;
    if (now + count > this.cap) return false;
    if (count > 0) this.held.set(address, now + count);
    return true;
  }

  release(address: string, count: number): void {
    const left = (this.held.get(address) ?? 0) - count;
    if (left > 0) this.held.set(address, left);
    else this.held.delete(address);
  }
}
