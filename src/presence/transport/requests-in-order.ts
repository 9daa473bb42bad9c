/**
 * One socket's requests, run one after another in the order they came: each starts once the one before
 * has answered. A subscribe that waits (for its address's turn, for Redis) must not let a later
 * unsubscribe or subscribe of the same socket overtake it: the later one would be answered first, and a
 * failing subscribe, undoing its ids, would undo what a later request had been told it holds.
 *
 * Nothing waiting (the usual case), a request starts at once, in the same tick. At most `limit` wait;
 * past that `run` returns null and the caller refuses, so a client that sends faster than the pod
 * answers (a Redis stall) cannot queue without bound.
 */
export class RequestsInOrder {
  private tail: Promise<void> | null = null;
  private waiting = 0;

  constructor(private readonly limit: number) {}

  run<T>(request: () => T | Promise<T>): Promise<T> | null {
    if (this.waiting >= this.limit) return null;
    this.waiting += 1;
    const result = this.tail === null ? startNow(request) : this.tail.then(request);
    const done: Promise<void> = result.then(
      () => this.finished(done),
      () => this.finished(done),
    );
    this.tail = done;
    return result;
  }

  /** Requests started or waiting, not yet answered. */
  get pending(): number {
    return this.waiting;
  }

  private finished(done: Promise<void>): void {
    this.waiting -= 1;
    if (this.tail === done) this.tail = null;
  }
}

function startNow<T>(request: () => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(request());
  } catch (error) {
    return Promise.reject(error);
  }
}
