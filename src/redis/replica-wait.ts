import calculateSlot from 'cluster-key-slot';
import { Cluster } from 'ioredis';
import type { RedisClient } from './redis-client.js';

/**
 * After a write that made a transition, waits (at most `timeoutMs`) until a replica of the primary that
 * took it has it too (WAIT 1), before the pod answers the client. Replication is asynchronous: without
 * this, a primary that dies right after a connect or an `end` takes it along, and the replica promoted
 * in its place has never heard of it (seen in the Sentinel failover test: a streamer connected 100 ms
 * before the kill came back "never seen", and its `end` then changed nothing). It narrows the window,
 * it does not close it: past the timeout the pod answers anyway (a slow replica must not stop presence).
 */
/** How long a transition's answer may wait for a replica. */
export const REPLICA_WAIT_MS = 100;

export class ReplicaWait {
  constructor(
    private readonly redis: RedisClient,
    private readonly timeoutMs: number,
  ) {}

  /** Waits for one replica of the node holding `key` (WAIT runs on the connection that wrote it). */
  async after(key: string): Promise<void> {
    if (this.redis instanceof Cluster) {
      const nodeKey = this.redis.slots[calculateSlot(key)]?.[0];
      const node = this.redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === nodeKey);
      if (node !== undefined) await node.wait(1, this.timeoutMs);
      return;
    }
    await this.redis.wait(1, this.timeoutMs);
  }
}
