/**
 * Runs the store operations of one connection one after another. A socket that connects and closes at
 * once must reach the store as connect-then-close: reversed, the close would find no lease and the
 * connect would then leave one behind, a ghost until its TTL.
 */
export class ConnectionQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(connectionId: string, operation: () => Promise<T>): Promise<T> {
    const tail = this.tails.get(connectionId) ?? Promise.resolve();
    const result = tail.then(operation, operation);
    const settled = result.then(noop, noop);
    this.tails.set(connectionId, settled);
    void settled.then(() => {
      if (this.tails.get(connectionId) === settled) this.tails.delete(connectionId);
    });
    return result;
  }

  get size(): number {
    return this.tails.size;
  }
}

function noop(): void {}
