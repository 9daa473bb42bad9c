/**
 * Commands in flight, numbered in the order they were sent, and callers waiting until every command
 * sent before they asked has been answered (or failed), each for at most its own timeout.
 *
 * A waiter costs one entry whatever the number in flight, and is gone once answered or timed out. The
 * subscriber's commands stay in flight as long as Redis does not answer (it queues while disconnected),
 * and callers keep coming all that time, one per viewer subscribe. A `Promise.all` over the commands in
 * flight, as before, left a reaction on each of them per caller that outlived the caller's timeout:
 * memory grew with callers × commands, hundreds of MB within a minute at full scale (RELIABILITY,
 * finding 19; test/integration/redis-outage-memory.test.ts).
 */
export class InFlightFence {
  private sent = 0;
  /** Numbers of the commands not yet answered; a Set keeps insertion order, so the first is the oldest. */
  private readonly unanswered = new Set<number>();
  /** Waiting callers in the order they came, which is also the order of their `through`. */
  private readonly waiters = new Set<Waiter>();

  track(command: Promise<unknown>): void {
    const number = ++this.sent;
    this.unanswered.add(number);
    const answered = (): void => {
      this.unanswered.delete(number);
      this.wake();
    };
    command.then(answered, answered);
  }

  /**
   * Resolves once every command tracked so far has been answered (true), or after `timeoutMs` (false),
   * whichever is first.
   */
  settled(timeoutMs: number): Promise<boolean> {
    const through = this.sent;
    if (this.oldestUnanswered() > through) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        through,
        release: (answered) => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve(answered);
        },
      };
      const timer = setTimeout(() => waiter.release(false), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** Callers waiting now. */
  get waiting(): number {
    return this.waiters.size;
  }

  /** Commands tracked and not yet answered. */
  get inFlight(): number {
    return this.unanswered.size;
  }

  private wake(): void {
    const oldest = this.oldestUnanswered();
    for (const waiter of this.waiters) {
      // The rest came later still, so they wait on this command or a later one too.
      if (waiter.through >= oldest) break;
      waiter.release(true);
    }
  }

  private oldestUnanswered(): number {
    for (const number of this.unanswered) return number;
    return Infinity;
  }
}

interface Waiter {
  /** The last command sent when it asked. */
  readonly through: number;
  release(answered: boolean): void;
}
