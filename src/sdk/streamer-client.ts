import type { Socket } from 'socket.io-client';
import type { Meta } from '../presence/domain/presence-state.js';
import { Connection, type ConnectionOptions, type ConnectionState } from './connection.js';
import { Emitter } from './emitter.js';
import { asError, PresenceError } from './errors.js';
import type { HeartbeatAck, Session, StreamerEmitEvents, StreamerListenEvents } from './wire.js';

export interface StreamerClientOptions extends ConnectionOptions {
  /** Meta to publish from the first heartbeat of every connection on; see {@link StreamerClient.setMeta}. */
  meta?: Meta;
  /**
   * Each heartbeat goes out after `interval × (1 − jitterRatio × random)`: a little early, never late,
   * so that streamers a pod dropped together do not heartbeat in lockstep. From 0 to under 1. @default 0.1
   */
  jitterRatio?: number;
  /** How long to wait for the ack of a heartbeat or `end`. @default 10000 */
  ackTimeoutMs?: number;
}

export type StreamerClientEvents = {
  /** The connection state changed. */
  state: [state: ConnectionState, previous: ConnectionState];
  /** The server accepted a connection (again) and told the heartbeat interval. */
  session: [session: Session];
  /**
   * How many viewer sockets follow this streamer, cluster-wide, when it changes: at most once every 5 s.
   * A new connection is told the count at once when someone watches; when no one does, a count from an
   * earlier connection drops to 0 two seconds after the session.
   */
  occupancy: [viewers: number];
  /**
   * Something failed: a connection attempt, `getToken()`, or a refused heartbeat (a `PresenceError`
   * with the server's code). The client carries on by itself unless its state is now `closed`.
   */
  error: [error: Error];
};

type StreamerSocket = Socket<StreamerListenEvents, StreamerEmitEvents>;
/** How long a new connection waits for its first count before taking it as 0 (the server sends it at once). */
const FIRST_OCCUPANCY_WAIT_MS = 2_000;
type Timer = ReturnType<typeof globalThis.setTimeout>;

interface MetaWaiter {
  readonly seq: number;
  resolve(): void;
  reject(error: Error): void;
}

/**
 * A streamer's presence: connects to `/streamer`, heartbeats at the interval the server gives, and
 * reconnects with backoff. Connecting makes the streamer online; {@link end} makes it offline at once;
 * {@link close} (or a lost connection that does not come back) makes it offline after the server's
 * reconnect grace. It connects as soon as it is constructed.
 *
 * Heartbeats are volatile: one that cannot be written right now is dropped, never queued for later,
 * and none is sent while disconnected (after a reconnect, the connect itself counts as a heartbeat).
 */
export class StreamerClient extends Emitter<StreamerClientEvents> {
  private readonly connection: Connection<StreamerSocket>;
  private readonly jitterRatio: number;
  private readonly ackTimeoutMs: number;
  private readonly random: () => number;
  private currentSession: Session | undefined;
  private intervalMs = 0;
  private heartbeatTimer: Timer | undefined;
  /** The meta to publish; `metaSeq` counts its changes, `metaDirty` says it still has to be sent. */
  private currentMeta: Meta | undefined;
  private acceptedMeta: Meta | undefined;
  private metaSeq = 0;
  private metaDirty = false;
  private metaWaiters: MetaWaiter[] = [];
  private ending = false;
  private currentOccupancy = 0;
  /** After a new session: when it fires without a count from the server, no one watches. */
  private occupancyTimer: Timer | undefined;

  constructor(options: StreamerClientOptions) {
    super();
    if (options.token === undefined && options.getToken === undefined) {
      throw new TypeError('StreamerClient: give `token` or `getToken` (a streamer must authenticate)');
    }
    const jitterRatio = options.jitterRatio ?? 0.1;
    if (!(jitterRatio >= 0 && jitterRatio < 1)) throw new RangeError(`StreamerClient: jitterRatio must be in [0, 1), got ${jitterRatio}`);
    this.jitterRatio = jitterRatio;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.random = options.random ?? Math.random;
    this.currentMeta = options.meta === undefined ? undefined : Object.freeze({ ...options.meta });
    this.connection = new Connection<StreamerSocket>('/streamer', options, (socket) => {
      socket.on('session', (session) => this.onSession(socket, session));
      socket.on('occupancy', (occupancy) => this.onOccupancy(occupancy));
    });
    this.connection.on('state', (state, previous) => {
      if (state === 'closed') this.shutDown();
      this.emit('state', state, previous);
    });
    this.connection.on('error', (error) => this.emit('error', error));
    this.connection.on('disconnect', () => this.stopHeartbeats());
    this.connection.start();
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** The current connection's session; undefined while not connected. */
  get session(): Session | undefined {
    return this.currentSession;
  }

  /** Viewer sockets following this streamer, cluster-wide, as last told (at most a few seconds behind a change). */
  get occupancy(): number {
    return this.currentOccupancy;
  }

  /** The meta the client publishes (the last one given, unless the server refused it). */
  get meta(): Meta | undefined {
    return this.currentMeta;
  }

  /** The base URL of the current connection (or of the next attempt). */
  get url(): string {
    return this.connection.url;
  }

  /**
   * Replaces the published meta (flat, JSON-safe scalars; at most 1 KiB as JSON with its envelope;
   * `{}` clears it). When connected, a heartbeat carrying it goes out at once; otherwise the first
   * heartbeat after connecting carries it. The meta is remembered and sent again on every new
   * connection (the server keeps meta only while the streamer stays online).
   *
   * Resolves when a heartbeat carrying this meta (or a newer one) is acknowledged. Rejects with a
   * `PresenceError` when the server refuses it: `invalid_payload` or `payload_too_large` also reverts
   * to the last accepted meta (so that heartbeats are not refused from then on); after `rate_limited`
   * or `unavailable` the meta is sent again with the next heartbeat. Rejects with a plain Error when
   * no ack came in `ackTimeoutMs` (the meta is still sent again) or when the client closes first.
   */
  setMeta(meta: Meta): Promise<void> {
    if (this.ending || this.connection.state === 'closed') return Promise.reject(new Error('StreamerClient is closed'));
    this.currentMeta = Object.freeze({ ...meta });
    this.metaSeq++;
    this.metaDirty = true;
    const promise = new Promise<void>((resolve, reject) => this.metaWaiters.push({ seq: this.metaSeq, resolve, reject }));
    if (this.currentSession !== undefined) this.beat();
    return promise;
  }

  /**
   * The stream is over: stops heartbeating, sends `end` (viewers see `offline`, reason `ended`, at
   * once), waits for its ack, then closes the client (state `closed`). Closes the client in every
   * case; rejects when `end` was not acknowledged (not connected, refused, or no ack within
   * `ackTimeoutMs`): the server then takes the streamer offline after its reconnect grace (reason
   * `disconnected`). Resolves at once on a closed client.
   */
  async end(): Promise<void> {
    if (this.connection.state === 'closed') return;
    this.ending = true;
    this.stopHeartbeats();
    const socket = this.connection.socket;
    try {
      if (socket === undefined) throw new Error('end not sent: not connected (the server ends the stream after its reconnect grace)');
      const ack = await socket.timeout(this.ackTimeoutMs).emitWithAck('end', {});
      if (!ack.ok) throw new PresenceError(ack.error.code, ack.error.message);
    } finally {
      this.close();
    }
  }

  /**
   * Closes the connection without `end`, for good: the server keeps the streamer online for its
   * reconnect grace, then takes it offline (reason `disconnected`). Pending `setMeta` promises reject.
   */
  close(): void {
    this.shutDown();
    this.connection.close();
  }

  private onSession(socket: StreamerSocket, session: Session): void {
    if (socket !== this.connection.socket || this.ending) return;
    this.currentSession = session;
    this.intervalMs = session.heartbeatIntervalMs;
    // The server tells a new connection its count at once when someone watches, and nothing when no one
    // does: a count told on an earlier connection stands until then, and drops to 0 if none comes.
    this.clearOccupancyTimer();
    if (this.currentOccupancy !== 0) {
      this.occupancyTimer = globalThis.setTimeout(() => {
        this.occupancyTimer = undefined;
        if (this.connection.socket === socket) this.onOccupancy({ viewers: 0 });
      }, FIRST_OCCUPANCY_WAIT_MS);
    }
    // A new connection may have lost the meta (offline in between): send it again.
    if (this.currentMeta !== undefined) this.metaDirty = true;
    this.emit('session', session);
    if (this.metaDirty) this.beat();
    else this.scheduleBeat();
  }

  private onOccupancy({ viewers }: { viewers: number }): void {
    if (!Number.isSafeInteger(viewers) || viewers < 0) return;
    this.clearOccupancyTimer();
    this.currentOccupancy = viewers;
    this.emit('occupancy', viewers);
  }

  private clearOccupancyTimer(): void {
    if (this.occupancyTimer !== undefined) globalThis.clearTimeout(this.occupancyTimer);
    this.occupancyTimer = undefined;
  }

  private scheduleBeat(): void {
    if (this.heartbeatTimer !== undefined) globalThis.clearTimeout(this.heartbeatTimer);
    const delay = this.intervalMs * (1 - this.jitterRatio * this.random());
    this.heartbeatTimer = globalThis.setTimeout(() => this.beat(), delay);
  }

  /** Sends one heartbeat now (with the meta if it has not been accepted yet) and schedules the next. */
  private beat(): void {
    const socket = this.connection.socket;
    if (socket === undefined || this.ending || this.currentSession === undefined) return;
    this.scheduleBeat();
    const meta = this.metaDirty ? this.currentMeta : undefined;
    const seq = this.metaSeq;
    socket.volatile
      .timeout(this.ackTimeoutMs)
      .emit('heartbeat', meta === undefined ? {} : { meta }, (err: Error | null, ack: HeartbeatAck) => {
        if (meta === undefined) this.onHeartbeatAck(socket, err, ack);
        else this.onMetaAck(socket, seq, meta, err, ack);
      });
  }

  private onHeartbeatAck(socket: StreamerSocket, err: Error | null, ack: HeartbeatAck): void {
    // No ack: the volatile packet was dropped or the connection went; the next heartbeat follows anyway.
    if (err) return;
    if (ack.ok) {
      if (ack.nextHeartbeatMs > 0) this.intervalMs = ack.nextHeartbeatMs;
      return;
    }
    this.refused(socket, new PresenceError(ack.error.code, ack.error.message));
  }

  private onMetaAck(socket: StreamerSocket, seq: number, meta: Meta, err: Error | null, ack: HeartbeatAck): void {
    if (err) {
      this.settleMeta(seq, asError(err, 'heartbeat with meta not acknowledged (the meta is sent again with the next one)'));
      return;
    }
    if (ack.ok) {
      this.acceptedMeta = meta;
      if (seq === this.metaSeq) this.metaDirty = false;
      this.settleMeta(seq);
      this.onHeartbeatAck(socket, null, ack);
      return;
    }
    const error = new PresenceError(ack.error.code, ack.error.message);
    const badMeta = ack.error.code === 'invalid_payload' || ack.error.code === 'payload_too_large';
    if (badMeta && seq === this.metaSeq) {
      this.currentMeta = this.acceptedMeta;
      this.metaDirty = false;
    }
    this.settleMeta(seq, error);
    this.refused(socket, error);
  }

  private refused(socket: StreamerSocket, error: PresenceError): void {
    this.emit('error', error);
    // The token expired on a live connection: its heartbeats no longer count. Reconnect with a fresh
    // token at once (well within the reconnect grace, so viewers see nothing).
    if (error.code !== 'unauthorized' || socket !== this.connection.socket) return;
    // Without getToken() this reconnects with the same token, which the handshake refuses: the
    // client then closes, as for any token refusal.
    this.stopHeartbeats();
    this.connection.restart('token expired', { freshToken: true });
  }

  /** Resolves (no error) or rejects the `setMeta` promises for meta changes up to `seq`. */
  private settleMeta(seq: number, error?: Error): void {
    const pending: MetaWaiter[] = [];
    for (const waiter of this.metaWaiters) {
      if (waiter.seq > seq) pending.push(waiter);
      else if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
    this.metaWaiters = pending;
  }

  private shutDown(): void {
    this.ending = true;
    this.stopHeartbeats();
    this.clearOccupancyTimer();
    this.settleMeta(Number.POSITIVE_INFINITY, new Error('StreamerClient closed'));
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== undefined) globalThis.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.currentSession = undefined;
  }
}
