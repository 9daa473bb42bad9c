/**
 * Lets one key (a client address) do one piece of costly work per turn of the event loop. The first
 * piece of a turn goes at once; the others queue, and one is let go per turn after it, so the messages
 * of other clients read in between are handled between them. A pod that let an address's burst of
 * accepted subscriptions run back to back (1,000 new channels, 25-55 ms of CPU here) kept every other
 * client waiting for all of it (RELIABILITY.md, finding 18).
 *
 * Order is kept per key: work queued first goes first.
 */
export class TurnsPerKey {
  /** Keys that have had their turn this loop iteration, with the work still waiting for later ones. */
  private readonly waiting = new Map<string, Array<() => void>>();

  /** Resolves when it is the key's turn: at once if it has had none this turn, else in a later turn. */
  take(key: string): Promise<void> {
    const queue = this.waiting.get(key);
    if (queue !== undefined) return new Promise((resolve) => queue.push(resolve));
    this.waiting.set(key, []);
    setImmediate(() => this.next(key));
    return Promise.resolve();
  }

  /** Keys that had their turn in this loop iteration or have work waiting; the others are forgotten. */
  get size(): number {
    return this.waiting.size;
  }

  private next(key: string): void {
    const queue = this.waiting.get(key)!;
    const resolve = queue.shift();
    if (resolve === undefined) {
      this.waiting.delete(key);
      return;
    }
    resolve();
    setImmediate(() => this.next(key));
  }
}
