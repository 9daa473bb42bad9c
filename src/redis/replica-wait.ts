import calculateSlot from 'cluster-key-slot';
import { Cluster, type Redis } from 'ioredis';
import type { RedisClient } from './redis-client.js';

/** How long a transition's answer may wait for a replica. */
export const REPLICA_WAIT_MS = 100;
/** How old the known replica count of a primary may be before it is read again (INFO replication). */
const REPLICAS_KNOWN_FOR_MS = 1_000;

/**
 * After a write that made a transition, waits (at most REPLICA_WAIT_MS) until a replica of the primary
 * that took it has it too (WAIT 1), before the pod answers the client. Replication is asynchronous:
 * without this, a primary that dies right after a connect or an `end` takes it along, and the replica
 * promoted in its place has never heard of it (seen in the Sentinel failover test: a streamer connected
 * 100 ms before the kill came back "never seen", and its `end` then changed nothing). It narrows the
 * window, it does not close it: past the timeout the pod answers anyway.
 *
 * WAIT blocks its connection in Redis, and that connection carries every other command to the primary:
 * so a primary with no replica (a promoted one, until its own is back) is not waited on at all, and one
 * WAIT at a time is in flight per primary, covering every write made before it was sent.
 */
export class ReplicaWait {
  private readonly primaries = new WeakMap<Redis, PrimaryWait>();

  constructor(
    private readonly redis: RedisClient,
    private readonly timeoutMs: number,
  ) {}

  /** Waits for one replica of the primary holding `key` (on the connection that wrote it). */
  async after(key: string): Promise<void> {
    const node = this.primaryOf(key);
    if (node === undefined) return;
    let primary = this.primaries.get(node);
    if (primary === undefined) {
      primary = new PrimaryWait(node, this.timeoutMs);
      this.primaries.set(node, primary);
    }
    await primary.wait();
  }

  private primaryOf(key: string): Redis | undefined {
    if (!(this.redis instanceof Cluster)) return this.redis;
    const nodeKey = this.redis.slots[calculateSlot(key)]?.[0];
    return this.redis.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === nodeKey);
  }
}

class PrimaryWait {
  private inFlight: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  private replicas: number | null = null;
  private replicasReadAt = 0;
  private reading: Promise<void> | null = null;

  constructor(
    private readonly node: Redis,
    private readonly timeoutMs: number,
  ) {}

  async wait(): Promise<void> {
    if (!(await this.hasReplica())) return;
    // A WAIT covers the writes sent before it. While one is in flight, the writes made since share the next.
    if (this.inFlight === null) {
      this.inFlight = this.node.wait(1, this.timeoutMs).then(
        () => undefined,
        () => undefined,
      );
      void this.inFlight.then(() => (this.inFlight = null));
      return this.inFlight;
    }
    this.next ??= this.inFlight.then(() => {
      this.next = null;
      return this.wait();
    });
    return this.next;
  }

  /** From INFO replication, read again when older than REPLICAS_KNOWN_FOR_MS (only the first read is awaited). */
  private async hasReplica(): Promise<boolean> {
    if (this.reading === null && Date.now() - this.replicasReadAt >= REPLICAS_KNOWN_FOR_MS) {
      this.reading = this.node
        .info('replication')
        .then(
          (info) => {
            this.replicas = Number(/connected_slaves:(\d+)/.exec(info)?.[1] ?? 0);
          },
          () => undefined,
        )
        .finally(() => {
          this.replicasReadAt = Date.now();
          this.reading = null;
        });
      if (this.replicas === null) await this.reading;
    }
    return (this.replicas ?? 0) > 0;
  }
}
