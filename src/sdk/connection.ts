import { io, type Socket } from 'socket.io-client';
import { Backoff, type BackoffOptions } from './backoff.js';
import { Emitter } from './emitter.js';
import { asError, PresenceError } from './errors.js';

/**
 * `connecting`: not connected yet (first attempt, or retrying it). `online`: connected.
 * `reconnecting`: was online, lost the connection, retrying. `closed`: for good (`close()`, `end()`, or
 * a token refusal that no `getToken` can fix).
 */
export type ConnectionState = 'connecting' | 'online' | 'reconnecting' | 'closed';

/** Connection options both clients take. */
export interface ConnectionOptions {
  /** Base URL of the service, e.g. `https://presence.example.com`; the client adds the namespace. Give this or `urls`. */
  url?: string;
  /**
   * Several base URLs, e.g. one per pod when there is no load balancer. The first connection tries
   * `urls[0]`; every retry (after a failed attempt or a lost connection) moves on to the next one,
   * round-robin, so a dead pod costs one failed attempt.
   */
  urls?: readonly string[];
  /** The JWT sent in the handshake (`auth: { token }`). Viewers may leave it out to watch anonymously. */
  token?: string;
  /**
   * Called for a token when there is no `token`, and again after every `unauthorized` refusal (a
   * refused handshake, or a heartbeat refused because the token expired). Without it such a refusal
   * closes the client, since retrying the same token cannot succeed.
   */
  getToken?: () => string | Promise<string>;
  /** Socket.IO transports. WebSocket only works behind a load balancer without sticky sessions. @default ['websocket'] */
  transports?: Array<'websocket' | 'polling' | 'webtransport'>;
  /** Socket.IO path on the server. @default '/socket.io' */
  path?: string;
  /** Delays between reconnection attempts: exponential with full jitter. @default { initialMs: 500, maxMs: 30000 } */
  backoff?: BackoffOptions;
  /** Give up on one connection attempt after this long (then retry). @default 20000 */
  connectTimeoutMs?: number;
  /** Random source in [0, 1) for every jitter; for tests. @default Math.random */
  random?: () => number;
}

type ConnectionEvents<S> = {
  state: [state: ConnectionState, previous: ConnectionState];
  /** Connected (again); a new socket every time. */
  connect: [socket: S];
  /** The connected socket is gone (lost, or dropped for a fresh token); a retry is under way. */
  disconnect: [reason: string];
  /** Something went wrong; the connection retries by itself unless it is now closed. */
  error: [error: Error];
};

type Timer = ReturnType<typeof globalThis.setTimeout>;

/**
 * One logical connection to a namespace, kept up across failures: a fresh Socket.IO socket per attempt
 * (with Socket.IO's own reconnection off), so the SDK decides the delays, the URL and the token.
 */
export class Connection<S extends Socket> extends Emitter<ConnectionEvents<S>> {
  private current: S | undefined;
  private retryTimer: Timer | undefined;
  private currentState: ConnectionState = 'connecting';
  private token: string | undefined;
  private needsToken: boolean;
  private urlIndex = 0;
  private attemptSeq = 0;
  private readonly urls: readonly string[];
  private readonly backoff: Backoff;

  /**
   * @param setup binds the namespace's server events on each new socket, before it connects
   */
  constructor(
    private readonly namespace: '/streamer' | '/viewer',
    private readonly options: ConnectionOptions,
    private readonly setup: (socket: S) => void,
  ) {
    super();
    this.urls = baseUrls(options);
    this.backoff = new Backoff(options.backoff ?? {}, options.random ?? Math.random);
    this.token = options.token;
    this.needsToken = options.token === undefined && options.getToken !== undefined;
  }

  get state(): ConnectionState {
    return this.currentState;
  }

  /** The connected socket, if any. */
  get socket(): S | undefined {
    return this.current?.connected ? this.current : undefined;
  }

  /** The base URL of the current (or next) attempt. */
  get url(): string {
    return this.urls[this.urlIndex]!;
  }

  start(): void {
    void this.attempt();
  }

  /**
   * Drops the current socket and connects again: at once with a fresh token (`freshToken`, after a
   * token-expired refusal: same URL), or after a backoff delay on the next URL.
   */
  restart(reason: string, options: { freshToken?: boolean } = {}): void {
    if (this.currentState === 'closed') return;
    const wasConnected = this.current?.connected === true;
    if (this.current !== undefined) this.drop(this.current);
    if (this.currentState === 'online') this.setState('reconnecting');
    if (wasConnected) this.emit('disconnect', reason);
    if (options.freshToken && this.options.getToken !== undefined) {
      this.needsToken = true;
      this.clearRetry();
      void this.attempt();
    } else {
      this.retryLater();
    }
  }

  close(): void {
    if (this.currentState === 'closed') return;
    this.clearRetry();
    this.attemptSeq++; // a getToken() still running is ignored
    if (this.current !== undefined) this.drop(this.current);
    this.setState('closed');
  }

  private async attempt(): Promise<void> {
    const seq = ++this.attemptSeq;
    if (this.needsToken) {
      try {
        this.token = await this.options.getToken!();
      } catch (error) {
        if (seq !== this.attemptSeq) return;
        this.emit('error', asError(error, 'getToken() failed'));
        this.retryLater();
        return;
      }
      if (seq !== this.attemptSeq) return;
      this.needsToken = false;
    }
    const socket = io(`${this.url}${this.namespace}`, {
      forceNew: true,
      reconnection: false,
      transports: this.options.transports ?? ['websocket'],
      path: this.options.path ?? '/socket.io',
      timeout: this.options.connectTimeoutMs ?? 20_000,
      ...(this.token === undefined ? {} : { auth: { token: this.token } }),
    }) as S;
    this.current = socket;
    this.setup(socket);
    socket.on('connect', () => {
      this.backoff.reset();
      this.setState('online');
      this.emit('connect', socket);
    });
    socket.on('connect_error', (error: Error) => this.onConnectError(socket, error));
    socket.on('disconnect', (reason: string) => this.onDisconnect(socket, reason));
  }

  private onConnectError(socket: S, error: Error): void {
    if (socket !== this.current) return;
    this.drop(socket);
    if (error.message !== 'unauthorized') {
      this.emit('error', asError(error, `cannot connect to ${this.url}${this.namespace}`));
      this.retryLater();
      return;
    }
    const refused = new PresenceError('unauthorized', `${this.url}${this.namespace} refused the token`);
    this.emit('error', refused);
    if (this.options.getToken === undefined) {
      this.close();
      return;
    }
    this.needsToken = true;
    this.retryLater();
  }

  private onDisconnect(socket: S, reason: string): void {
    if (socket !== this.current) return;
    this.drop(socket);
    this.setState('reconnecting');
    this.emit('disconnect', reason);
    this.retryLater();
  }

  private retryLater(): void {
    if (this.currentState === 'closed') return;
    this.clearRetry();
    this.urlIndex = (this.urlIndex + 1) % this.urls.length;
    this.retryTimer = globalThis.setTimeout(() => {
      this.retryTimer = undefined;
      void this.attempt();
    }, this.backoff.next());
  }

  private clearRetry(): void {
    if (this.retryTimer !== undefined) globalThis.clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  /** Forgets `socket` and closes it; its pending acks fail ("socket has been disconnected"). */
  private drop(socket: S): void {
    if (this.current === socket) this.current = undefined;
    socket.off();
    socket.disconnect();
  }

  private setState(next: ConnectionState): void {
    const previous = this.currentState;
    if (previous === next) return;
    this.currentState = next;
    this.emit('state', next, previous);
  }
}

function baseUrls(options: ConnectionOptions): readonly string[] {
  const urls = options.urls ?? (options.url === undefined ? [] : [options.url]);
  if (urls.length === 0 || urls.some((url) => typeof url !== 'string' || url === '')) {
    throw new TypeError('presence client: give `url` or a non-empty `urls` list of base URLs');
  }
  if (options.url !== undefined && options.urls !== undefined) {
    throw new TypeError('presence client: give `url` or `urls`, not both');
  }
  // The namespace is appended: 'https://x/' + '/viewer' would be a different path.
  return Object.freeze(urls.map((url) => url.replace(/\/+$/, '')));
}
