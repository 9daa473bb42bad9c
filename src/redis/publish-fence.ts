import type { RedisClient } from './redis-client.js';

/**
 * Keeps the adapter's publishes (SPUBLISH: the sharded adapter publishes nothing else) in flight, so
 * `settled()` can tell when everything published so far has reached Redis, on whichever node its
 * channel lives: the viewer relay acknowledges a log entry only after that. A PING on one connection
 * could not say it on a Cluster, where the publishes go to several nodes.
 */
export class PublishFence {
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(client: RedisClient) {
    const spublish = client.spublish.bind(client) as (...args: unknown[]) => Promise<unknown>;
    (client as unknown as { spublish: (...args: unknown[]) => Promise<unknown> }).spublish = (...args: unknown[]) => {
      const command = spublish(...args);
      this.inFlight.add(command);
      // Settled either way: the adapter does not await its publishes, so nothing else would catch it.
      void command.then(
        () => this.inFlight.delete(command),
        () => this.inFlight.delete(command),
      );
      return command;
    };
  }

  /** Resolves once every publish made so far has been answered; rejects if any of them failed. */
  async settled(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }
}
