import type { StoreResult } from '../../domain/presence-store.port.js';

/** Heartbeats one script call carries at most: a bigger batch is split, so no call holds Redis long. */
export const MAX_BATCH = 128;

/** One heartbeat (or connect) waiting for its batch. */
export interface PendingHeartbeat {
  readonly streamerId: string;
  readonly connectionId: string;
  /** '' to leave the meta as it is, else canonical JSON (lua/heartbeat.lua). */
  readonly meta: string;
  /** How long ago the client last heartbeated: 0 but for a re-assert (PresenceStore.heartbeat). */
  readonly silentForMs: number;
  /** When the pod asked for it (`Date.now()`): what the store judges its deadlines as of (lua/heartbeat.lua). */
  readonly receivedAt: number;
  readonly resolve: (result: StoreResult) => void;
  readonly reject: (error: unknown) => void;
}

/** The heartbeats of one shard within a call. */
export interface HeartbeatGroup {
  readonly shard: number;
  readonly heartbeats: PendingHeartbeat[];
}

/**
 * Collects the heartbeats that arrive in one turn of the event loop and hands them over as script calls
 * of at most MAX_BATCH heartbeats, once the turn's I/O is read (setImmediate). Within a call they come
 * grouped by shard. On one Redis (single, or Sentinel's primary) a call carries every shard's; on a
 * Cluster, whose shards are slots a script may not mix, one shard's. A pod under load reads many
 * sockets per turn; each batch is then one script call where it was one per heartbeat (a call was 20 µs
 * of Redis CPU, 3.5 µs of it the commands inside, and a quarter of the pod's CPU was ioredis), and one
 * per turn where it was one per shard (in batches of 11, Redis's part of a call was 2 µs a heartbeat,
 * in batches of 128 under 1 µs). A lone heartbeat waits for nothing: the turn it arrived in ends at once.
 */
export class HeartbeatBatches {
  private waiting: PendingHeartbeat[] = [];
  private scheduled = false;

  /**
   * @param shardOf the shard of a streamer, asked when the batch leaves (the layout may change meanwhile)
   * @param shardsShareACall whether one call may carry several shards' heartbeats (asked then too)
   * @param send runs one call's groups; it settles every heartbeat it is given
   */
  constructor(
    private readonly shardOf: (streamerId: string) => number,
    private readonly shardsShareACall: () => boolean,
    private readonly send: (groups: HeartbeatGroup[]) => void,
  ) {}

  add(streamerId: string, connectionId: string, meta: string, silentForMs: number): Promise<StoreResult> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ streamerId, connectionId, meta, silentForMs, receivedAt: Date.now(), resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.flush);
      }
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const waiting = this.waiting;
    this.waiting = [];
    const byShard = new Map<number, PendingHeartbeat[]>();
    for (const heartbeat of waiting) {
      const shard = this.shardOf(heartbeat.streamerId);
      const heartbeats = byShard.get(shard);
      if (heartbeats === undefined) byShard.set(shard, [heartbeat]);
      else heartbeats.push(heartbeat);
    }
    for (const groups of callsOf(byShard, this.shardsShareACall())) this.send(groups);
  };
}

/** The calls that carry each shard's heartbeats, in order, at most MAX_BATCH a call. */
export function callsOf(byShard: ReadonlyMap<number, PendingHeartbeat[]>, shardsShareACall: boolean): HeartbeatGroup[][] {
  const calls: HeartbeatGroup[][] = [];
  let call: HeartbeatGroup[] = [];
  let size = 0;
  for (const [shard, heartbeats] of byShard) {
    if (!shardsShareACall && size > 0) {
      calls.push(call);
      call = [];
      size = 0;
    }
    for (let from = 0; from < heartbeats.length; ) {
      if (size === MAX_BATCH) {
        calls.push(call);
        call = [];
        size = 0;
      }
      const room = MAX_BATCH - size;
      const taken = from === 0 && heartbeats.length <= room ? heartbeats : heartbeats.slice(from, from + room);
      call.push({ shard, heartbeats: taken });
      size += taken.length;
      from += taken.length;
    }
  }
  if (size > 0) calls.push(call);
  return calls;
}
