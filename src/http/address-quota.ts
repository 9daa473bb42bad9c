/**
 * How much of something each client address holds on this pod (subscriptions, open connections),
 * against a cap: anonymous clients are free to open sockets, so a per-socket limit alone would let one
 * address make a pod hold any number of them. Addresses holding none are forgotten. A cap of 0 turns
 * it off.
 */
export class AddressQuota {
  private readonly held = new Map<string, number>();

  constructor(private readonly cap: number) {}

  /** Takes `count` more for `address`; false (and nothing taken) when that would pass the cap. */
  reserve(address: string, count: number): boolean {
    const now = this.held.get(address) ?? 0;
    if (this.cap > 0 && now + count > this.cap) return false;
    if (count > 0) this.held.set(address, now + count);
    return true;
  }

  /** Whether `address` holds its whole cap already. */
  isFull(address: string): boolean {
    return this.cap > 0 && (this.held.get(address) ?? 0) >= this.cap;
  }

  release(address: string, count: number): void {
    const left = (this.held.get(address) ?? 0) - count;
    if (left > 0) this.held.set(address, left);
    else this.held.delete(address);
  }
}
