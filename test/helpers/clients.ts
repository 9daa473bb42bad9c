import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { registerCleanup } from './cleanup.js';

/** socket.io-client options accepted by the connect helpers. */
export type ClientOptions = Partial<ManagerOptions & SocketOptions> & {
  /** Give up on the connection after this long. @default 5000 */
  connectTimeoutMs?: number;
  /**
   * Called with the socket before it connects, to attach listeners for what the server emits at once
   * (`session` can arrive in the same read as the connect itself).
   */
  beforeConnect?: (socket: Socket) => void;
};

/**
 * Connects a streamer to `<url>/streamer` with `auth: { token }`. Defaults: WebSocket transport only,
 * no reconnection, a connection of its own (`forceNew`). Resolves on `connect`; rejects with the
 * `connect_error`. The socket is closed by the file's cleanup if the test does not close it.
 */
export function connectStreamer(url: string, token: string, opts: ClientOptions = {}): Promise<Socket> {
  return connect(url, '/streamer', { auth: { token }, ...opts });
}

/** Like {@link connectStreamer}, for `<url>/viewer`; without `token` the viewer is anonymous. */
export function connectViewer(url: string, token?: string, opts: ClientOptions = {}): Promise<Socket> {
  return connect(url, '/viewer', { ...(token === undefined ? {} : { auth: { token } }), ...opts });
}

/**
 * Tries to connect to `<url><nsp>` with `auth` and resolves with the `connect_error` message
 * (e.g. `'unauthorized'`); rejects if the connection succeeds.
 */
export async function connectError(
  url: string,
  nsp: string,
  auth: Record<string, unknown> | undefined,
  extraOpts: ClientOptions = {},
): Promise<string> {
  let socket: Socket;
  try {
    socket = await connect(url, nsp, { ...(auth === undefined ? {} : { auth }), ...extraOpts });
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  socket.close();
  throw new Error(`connectError: expected ${nsp} to refuse the handshake, but it connected`);
}

/** Closes every socket given (undefined ones are ignored). */
export function closeAll(...sockets: Array<Socket | undefined>): void {
  for (const socket of sockets) socket?.close();
}

export function connect(url: string, nsp: string, opts: ClientOptions): Promise<Socket> {
  const { connectTimeoutMs = 5_000, beforeConnect, ...ioOpts } = opts;
  const socket = io(`${url}${nsp}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...ioOpts,
  });
  registerCleanup(() => socket.close());
  beforeConnect?.(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`connect to ${url}${nsp} timed out after ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('connect_error', onError);
      resolve(socket);
    });
    const onError = (err: Error): void => {
      // With reconnection on, a refused attempt is retried: keep waiting for a later success.
      if (socket.io.opts.reconnection && socket.active) return;
      clearTimeout(timer);
      socket.close();
      reject(err);
    };
    socket.on('connect_error', onError);
  });
}

/** One received event. */
export interface RecordedEvent<T> {
  payload: T;
  /** Arrival time, `Date.now()` (ms epoch, comparable with server timestamps on this machine). */
  at: number;
}

/**
 * Records every `event` that `socket` receives, with its arrival time, from construction on.
 * The payload is the event's first argument.
 */
export class EventRecorder<T = unknown> {
  private readonly events: RecordedEvent<T>[] = [];
  private readonly waiters = new Set<() => void>();
  private readonly listener = (payload: T): void => {
    this.events.push({ payload, at: Date.now() });
    for (const notify of this.waiters) notify();
  };

  constructor(
    private readonly socket: Socket,
    readonly event: string,
  ) {
    socket.on(event, this.listener as (...args: unknown[]) => void);
  }

  /** Everything recorded so far, oldest first (a copy). */
  all(): RecordedEvent<T>[] {
    return [...this.events];
  }

  /** The payloads recorded so far, oldest first. */
  payloads(): T[] {
    return this.events.map((e) => e.payload);
  }

  /** How many events were recorded. */
  get count(): number {
    return this.events.length;
  }

  /** Forgets what was recorded so far. */
  clear(): void {
    this.events.length = 0;
  }

  /**
   * Resolves with the first event from index `fromIndex` on (already recorded or yet to come) whose
   * payload satisfies `predicate`; rejects after `timeoutMs` listing what did arrive.
   * @default predicate any, timeoutMs 5000, fromIndex 0
   */
  waitFor(predicate: (payload: T) => boolean = () => true, timeoutMs = 5_000, fromIndex = 0): Promise<RecordedEvent<T>> {
    return new Promise((resolve, reject) => {
      let next = fromIndex;
      const check = (): void => {
        for (; next < this.events.length; next++) {
          const candidate = this.events[next]!;
          if (predicate(candidate.payload)) {
            done();
            resolve(candidate);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `no matching '${this.event}' within ${timeoutMs} ms; received: ${JSON.stringify(this.payloads())}`,
          ),
        );
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /**
   * Resolves after `ms` if no event satisfying `predicate` arrives in that time (counting from the
   * call); rejects as soon as one does.
   * @default predicate any
   */
  expectNoneFor(ms: number, predicate: (payload: T) => boolean = () => true): Promise<void> {
    return new Promise((resolve, reject) => {
      let next = this.events.length;
      const check = (): void => {
        for (; next < this.events.length; next++) {
          const candidate = this.events[next]!;
          if (predicate(candidate.payload)) {
            done();
            reject(new Error(`unexpected '${this.event}' within ${ms} ms: ${JSON.stringify(candidate.payload)}`));
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        resolve();
      }, ms);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Stops recording. */
  stop(): void {
    this.socket.off(this.event, this.listener as (...args: unknown[]) => void);
  }
}
