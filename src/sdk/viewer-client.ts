import type { Socket } from 'socket.io-client';
import type { PresenceReason, PresenceState } from '../presence/domain/presence-state.js';
import { Connection, type ConnectionOptions, type ConnectionState } from './connection.js';
import { Emitter } from './emitter.js';
import { asError, PresenceError } from './errors.js';
import { PresenceMap } from './presence-map.js';
import { isStreamerId, LIMITS, type ViewerEmitEvents, type ViewerListenEvents } from './wire.js';

export interface ViewerClientOptions extends ConnectionOptions {
  /** How long to wait for a `subscribe` / `unsubscribe` ack before giving up on the connection. @default 10000 */
  ackTimeoutMs?: number;
}

export type ViewerClientEvents = {
  /** The connection state changed. */
  state: [state: ConnectionState, previous: ConnectionState];
  /**
   * A watched streamer's state changed in a way a viewer can see: status, `since` or meta. Also fires
   * for the first state of a newly watched id (`previous` undefined). `reason` is the event's, or
   * undefined when the change came from a snapshot (a watch, or the resubscription after a reconnect).
   * Never fires for a stale or duplicate version.
   */
  change: [state: PresenceState, previous: PresenceState | undefined, reason: PresenceReason | undefined];
  /** A watched streamer went from offline to online (not fired for the first state of an id). */
  online: [state: PresenceState];
  /** A watched streamer went from online to offline (not fired for the first state of an id). */
  offline: [state: PresenceState];
  /** Every watched id is subscribed on the current connection and its snapshot merged (after each connect, and each `resync`). */
  synced: [];
  /** Something failed; the client carries on by itself unless its state is now `closed`. */
  error: [error: Error];
};

type ViewerSocket = Socket<ViewerListenEvents, ViewerEmitEvents>;

/** Why a batch of requests failed: the server said no (`refused`), or the connection did not answer. */
type Outcome = { readonly ok: true } | { readonly ok: false; readonly refused: boolean; readonly error: Error };

/**
 * Watches streamers on `/viewer` and keeps their presence, merged by version: the subscribe snapshots
 * and the events race, and only a newer version of a streamer is taken. After every reconnect (and on
 * the server's `resync`) it subscribes to every watched id again and merges the fresh snapshots, so what
 * changed while it was away is emitted once and what did not change emits nothing. It connects as soon
 * as it is constructed; without `token`/`getToken` it watches anonymously.
 *
 * One client is one socket, so it watches at most 1000 streamers (the server's limit per socket).
 */
export class ViewerClient extends Emitter<ViewerClientEvents> {
  private readonly connection: Connection<ViewerSocket>;
  private readonly ackTimeoutMs: number;
  private readonly presence = new PresenceMap();
  private readonly watching = new Set<string>();
  private syncWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];

  constructor(options: ViewerClientOptions) {
    super();
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.connection = new Connection<ViewerSocket>('/viewer', options, (socket) => {
      socket.on('presence', (event) => this.apply(event));
      socket.on('resync', () => void this.sync(socket));
    });
    this.connection.on('state', (state, previous) => {
      if (state === 'closed') this.rejectSyncWaiters(new Error('ViewerClient closed'));
      this.emit('state', state, previous);
    });
    this.connection.on('error', (error) => this.emit('error', error));
    this.connection.on('connect', (socket) => void this.sync(socket));
    this.connection.start();
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** The base URL of the current connection (or of the next attempt). */
  get url(): string {
    return this.connection.url;
  }

  /** The watched ids (a copy). */
  get watched(): ReadonlySet<string> {
    return new Set(this.watching);
  }

  /** The known state of a watched streamer; undefined until its first snapshot arrived. */
  get(streamerId: string): PresenceState | undefined {
    return this.presence.get(streamerId);
  }

  /** The known state of every watched streamer (a copy). */
  snapshot(): Map<string, PresenceState> {
    return this.presence.snapshot();
  }

  /**
   * Watches `ids` (in requests of at most 100) and resolves with their states once their snapshots are
   * merged, one per distinct id, in the order given. Ids already watched cost nothing. While not
   * connected, it resolves after the next connect has subscribed everything watched.
   *
   * Throws a TypeError for an invalid id, and a RangeError when more than 1000 ids would be watched,
   * both before changing anything. When the server refuses a request (a `PresenceError`, e.g.
   * `rate_limited`), none of these ids stays watched. When the connection is lost or does not answer,
   * the ids stay watched and are subscribed by the next connection.
   */
  async watch(ids: Iterable<string>): Promise<PresenceState[]> {
    if (this.connection.state === 'closed') throw new Error('ViewerClient is closed');
    const asked = distinct(ids);
    const invalid = asked.find((id) => !isStreamerId(id));
    if (invalid !== undefined) throw new TypeError(`watch: invalid streamer id ${JSON.stringify(invalid)} (expected ^[A-Za-z0-9_.:-]{1,64}$)`);
    const added = asked.filter((id) => !this.watching.has(id));
    if (this.watching.size + added.length > LIMITS.subscriptionsPerSocket) {
      throw new RangeError(
        `watch: ${this.watching.size} + ${added.length} streamers would exceed the server's limit of ` +
          `${LIMITS.subscriptionsPerSocket} per connection; use another ViewerClient for the rest`,
      );
    }
    for (const id of added) this.watching.add(id);
    if (added.length > 0) await this.subscribeAdded(added);
    return asked.flatMap((id) => this.presence.get(id) ?? []);
  }

  /**
   * Stops watching `ids`: their states are forgotten at once (no event) and later events for them are
   * ignored. Resolves when the server confirmed; rejects if it did not (nothing to retry: the ids are
   * no longer watched either way).
   */
  async unwatch(ids: Iterable<string>): Promise<void> {
    const removed = distinct(ids).filter((id) => this.watching.delete(id));
    for (const id of removed) this.presence.delete(id);
    const socket = this.connection.socket;
    if (socket === undefined || removed.length === 0) return;
    const outcome = await this.request(socket, 'unsubscribe', removed);
    if (!outcome.ok) throw outcome.error;
  }

  /** Closes the connection for good. Pending `watch` promises reject. */
  close(): void {
    this.connection.close();
  }

  private async subscribeAdded(added: string[]): Promise<void> {
    const socket = this.connection.socket;
    if (socket === undefined) return this.nextSync();
    const outcome = await this.request(socket, 'subscribe', added);
    if (outcome.ok) return;
    if (outcome.refused) {
      for (const id of added) {
        this.watching.delete(id);
        this.presence.delete(id);
      }
      if (socket.connected) void this.request(socket, 'unsubscribe', added);
      throw outcome.error;
    }
    // Lost, or no answer: the ids stay watched and the next connection subscribes them.
    if (socket === this.connection.socket) this.connection.restart('subscribe not acknowledged');
    return this.nextSync();
  }

  /** Subscribes every watched id on `socket` and merges the snapshots; reconnects if that fails. */
  private async sync(socket: ViewerSocket): Promise<void> {
    const ids = [...this.watching];
    const outcome = await this.request(socket, 'subscribe', ids);
    if (socket !== this.connection.socket) return; // gone meanwhile: the next connection syncs again
    if (!outcome.ok) {
      this.emit('error', asError(outcome.error, 'resubscribing failed, reconnecting'));
      this.connection.restart('resubscribe failed');
      return;
    }
    // Ids unwatched while this was under way were subscribed again.
    const stale = ids.filter((id) => !this.watching.has(id));
    if (stale.length > 0) void this.request(socket, 'unsubscribe', stale);
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const waiter of waiters) waiter.resolve();
    this.emit('synced');
  }

  /**
   * Sends `ids` in requests of at most 100, all at once (Socket.IO keeps their order), and merges the
   * snapshots of `subscribe` as their acks arrive.
   */
  private async request(socket: ViewerSocket, event: 'subscribe' | 'unsubscribe', ids: string[]): Promise<Outcome> {
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += LIMITS.idsPerRequest) chunks.push(ids.slice(i, i + LIMITS.idsPerRequest));
    const outcomes = await Promise.all(
      chunks.map(async (streamerIds): Promise<Outcome> => {
        try {
          const ack = await socket.timeout(this.ackTimeoutMs).emitWithAck(event, { streamerIds });
          if (!ack.ok) return { ok: false, refused: true, error: new PresenceError(ack.error.code, ack.error.message) };
          if ('presence' in ack) for (const state of ack.presence) this.apply(state);
          return { ok: true };
        } catch (error) {
          return { ok: false, refused: false, error: asError(error, `${event} not acknowledged`) };
        }
      }),
    );
    return outcomes.find((outcome) => !outcome.ok && outcome.refused) ?? outcomes.find((outcome) => !outcome.ok) ?? { ok: true };
  }

  private apply(state: PresenceState): void {
    if (!this.watching.has(state.streamerId)) return;
    const change = this.presence.apply(state);
    if (change === undefined) return;
    this.emit('change', change.state, change.previous, change.reason);
    if (change.previous !== undefined && change.previous.status !== change.state.status) {
      this.emit(change.state.status, change.state);
    }
  }

  private nextSync(): Promise<void> {
    return new Promise((resolve, reject) => this.syncWaiters.push({ resolve, reject }));
  }

  private rejectSyncWaiters(error: Error): void {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }
}

function distinct(ids: Iterable<string>): string[] {
  if (typeof ids === 'string') throw new TypeError('expected a list of streamer ids, got a string');
  return [...new Set(ids)];
}
