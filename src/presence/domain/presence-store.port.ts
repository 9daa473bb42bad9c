import type { Meta, PresenceEvent, PresenceState } from './presence-state.js';
import type { TimelineEntry } from './timeline.js';

/**
 * How long a store keeps an offline streamer with no connection after its last transition, before it
 * may forget it (a later read then says never-seen). Safe because versions are tied to the clock.
 */
export const OFFLINE_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** What a store operation did: the events it caused (also in the transition log), and the store's clock when it did it. */
export interface StoreResult {
  /** The store's clock (Redis `TIME` in Redis mode), in ms since the epoch. */
  readonly serverTime: number;
  readonly events: readonly PresenceEvent[];
  /** A connect refused: the streamer already holds MAX_OPEN_CONNECTIONS open connections (the events are then only expiries). */
  readonly refused?: 'too_many_connections';
}

/** A connection's lease as the store holds it (for operators): open until `liveUntil`, or closed and in its grace until then. */
export interface ConnectionLeaseView {
  readonly connectionId: string;
  /** When its lease runs out; for a parked connection, when its place does. */
  readonly liveUntil: number;
  readonly closed: boolean;
  /** An open socket that keeps nobody online (ended, or silent past the TTL), holding its place. */
  readonly parked: boolean;
}

export interface OnlinePage {
  readonly items: readonly PresenceState[];
  /** The last id of this page when more may follow, else null. */
  readonly lastId: string | null;
}

/**
 * Where presence lives: one record per streamer with the leases of its connections (see
 * `streamer-record.ts` for the rules). Implementations: `MemoryPresenceStore` (single node only) and
 * `RedisPresenceStore` (any number of pods).
 *
 * The contract every implementation keeps, and the store contract suite checks:
 * - Each operation on a streamer is atomic: it expires that streamer's due leases, applies the change
 *   and returns its events, so each event is returned once, to exactly one caller, cluster-wide.
 * - Deadlines are read on the store's one clock, never on the calling pod's.
 * - `expireDue` claims leases whose deadline has passed, across all streamers, at most `limit` streamers
 *   per call, and returns the offline events they cause; two concurrent callers never claim the same one.
 * - Versions of a streamer strictly increase, also across a store that lost its data.
 * - Operations reject (never hang) when the store cannot be reached.
 * - An offline streamer with no connection may be forgotten OFFLINE_RETENTION_MS after its last
 *   transition, with its timeline.
 * - Every event is also appended, in the same atomic step, to its streamer's timeline (the last
 *   TIMELINE_LENGTH transitions), with the pod of the store that produced it.
 * - Every event is appended, in the same atomic step, to the transition log (`TransitionLog`), once:
 *   a reader of the log finds exactly the events the operations returned. The events are delivered
 *   from there, so a caller whose reply never arrives (a timeout, a crash) loses none, and a caller
 *   that retries an operation whose first try did apply gets no second event (every operation is
 *   idempotent in its effect on presence).
 */
export interface PresenceStore {
  /** A new connection: its first heartbeat, or `refused` when the streamer holds MAX_OPEN_CONNECTIONS open ones. */
  connect(streamerId: string, connectionId: string): Promise<StoreResult>;
  /**
   * Renews the lease, creating it when the store does not know it (e.g. after a Redis restart). A
   * re-assert passes `silentForMs`, how long ago the client last heartbeated: the lease then runs out
   * at now + TTL − silentForMs, never earlier than it already does (`streamer-record.ts` `heartbeat`).
   */
  heartbeat(streamerId: string, connectionId: string, meta?: Meta, silentForMs?: number): Promise<StoreResult>;
  /**
   * `heartbeat` of a client, done before it returns: offered by a store whose every operation runs on the
   * pod's own event loop (in memory), so the pod answers the heartbeat without a promise in between.
   */
  heartbeatNow?(streamerId: string, connectionId: string, meta?: Meta): StoreResult;
  disconnect(streamerId: string, connectionId: string): Promise<StoreResult>;
  /**
   * The stream is over (`streamer-record.ts` `end`). An `end` sent again after an outage passes
   * `sentAt` (ms): a stream that came online after it is not ended.
   */
  end(streamerId: string, sentAt?: number): Promise<StoreResult>;
  expireDue(limit: number): Promise<StoreResult>;
  /**
   * A streamer last known online that the store has no record of (it lost its data): offline
   * (`timeout`) as of `since`; nothing when the store has a record (`streamer-record.ts` `settleLost`).
   */
  settleLost(streamerId: string, since: number): Promise<StoreResult>;
  /** One state per id, in the order asked. */
  getMany(streamerIds: readonly string[]): Promise<PresenceState[]>;
  /** Online streamers ordered by id, strictly after `afterId`. */
  listOnline(afterId: string | null, limit: number): Promise<OnlinePage>;
  countOnline(): Promise<number>;
  /** The streamer's recent transitions, newest first, at most `limit`. */
  timeline(streamerId: string, limit: number): Promise<TimelineEntry[]>;
  /** The leases the streamer's record holds, by connection id; run-out ones stay until the next change or sweep. */
  connections(streamerId: string): Promise<ConnectionLeaseView[]>;
}
