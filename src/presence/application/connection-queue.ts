/**
 * Runs the store operations of one connection one after another. A socket that connects and closes at
 * once must reach the store as connect-then-close: reversed, the close would find no lease and the
 * connect would then leave one behind, a ghost until its TTL.
 */
export class ConnectionQueue {
  private readonly tails = new Map<string, Promise<void>>();

  run<T>(connectionId: string, operation: () => Promise<T>): Promise<T> {
    const tail = this.tails.get(connectionId);
    // A connection with nothing in flight (the usual case: one heartbeat every 50 s) starts at once.
    const result = tail === undefined ? start(operation) : tail.then(operation, operation);
    // Once it settles, either way, the connection is forgotten unless another operation queued behind it.
    const release = (): void => {
      if (this.tails.get(connectionId) === settled) this.tails.delete(connectionId);
    };
    const settled: Promise<void> = result.then(release, release);
    this.tails.set(connectionId, settled);
    return result;
  }

  /** Whether an operation of the connection is running or waiting: one started now would have to wait for it. */
  busy(connectionId: string): boolean {
    return this.tails.has(connectionId);
  }

  get size(): number {
    return this.tails.size;
  }
}

/** The operation's promise; one that throws before returning it is a rejected promise too. */
function start<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return operation();
  } catch (error) {
    return Promise.reject(error);
  }
}
