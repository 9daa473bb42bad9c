// Helpers for the SDK's tests against real app processes: clients that the file's cleanup closes, a
// recorder for SDK events (the SDK's own emitter, not a socket), and the heartbeat counter of a pod.
import type { Emitter, EventMap } from '../../src/sdk/emitter.js';
import { StreamerClient, type StreamerClientEvents, type StreamerClientOptions } from '../../src/sdk/streamer-client.js';
import { ViewerClient, type ViewerClientEvents, type ViewerClientOptions } from '../../src/sdk/viewer-client.js';
import type { AppProcess } from '../helpers/app-process.js';
import { registerCleanup } from '../helpers/cleanup.js';
import { signToken } from '../helpers/tokens.js';

const open = new Set<{ close(): void }>();

/** Closes every client the helpers below made (call in afterEach; the file's cleanup does it too). */
export function closeClients(): void {
  for (const client of open) client.close();
  open.clear();
}

function tracked<T extends { close(): void }>(client: T): T {
  open.add(client);
  registerCleanup(() => client.close());
  return client;
}

export function streamerToken(streamerId: string, expiresInSec = 3_600): string {
  return signToken({ sub: streamerId, role: 'streamer', expiresInSec });
}

/** A StreamerClient for `streamerId` (a fresh token unless `token`/`getToken` is given). */
export function streamerClient(streamerId: string, options: Omit<StreamerClientOptions, 'token'> & { token?: string }): StreamerClient {
  const token = options.getToken === undefined ? (options.token ?? streamerToken(streamerId)) : options.token;
  return tracked(new StreamerClient({ ...options, ...(token === undefined ? {} : { token }) }));
}

export function viewerClient(options: ViewerClientOptions): ViewerClient {
  return tracked(new ViewerClient(options));
}

export interface Recorded<Args> {
  args: Args;
  /** Arrival time, `Date.now()`. */
  at: number;
}

/** Records every `event` of an SDK client from construction on (like helpers/clients.ts EventRecorder). */
export class SdkRecorder<Events extends EventMap, K extends keyof Events> {
  private readonly events: Recorded<Events[K]>[] = [];
  private readonly waiters = new Set<() => void>();
  readonly stop: () => void;

  constructor(
    client: Emitter<Events>,
    readonly event: K,
  ) {
    this.stop = client.on(event, (...args) => {
      this.events.push({ args, at: Date.now() });
      for (const notify of this.waiters) notify();
    });
  }

  get count(): number {
    return this.events.length;
  }

  all(): Recorded<Events[K]>[] {
    return [...this.events];
  }

  /** The first argument of each recorded event. */
  firsts(): Events[K][0][] {
    return this.events.map((e) => e.args[0]);
  }

  /** Resolves with the first event from `fromIndex` on whose arguments satisfy `predicate`. @default timeoutMs 5000 */
  waitFor(predicate: (...args: Events[K]) => boolean = () => true, timeoutMs = 5_000, fromIndex = 0): Promise<Recorded<Events[K]>> {
    return new Promise((resolve, reject) => {
      let next = fromIndex;
      const check = (): void => {
        for (; next < this.events.length; next++) {
          if (predicate(...this.events[next]!.args)) {
            done();
            resolve(this.events[next]!);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching '${String(this.event)}' within ${timeoutMs} ms; received: ${this.describe()}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves after `ms` if no event arrives in that time (from the call on); rejects as soon as one does. */
  expectNoneFor(ms: number): Promise<void> {
    const from = this.events.length;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.events.length === from) return;
        done();
        reject(new Error(`unexpected '${String(this.event)}' within ${ms} ms: ${JSON.stringify(this.events[from]!.args)}`));
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

  private describe(): string {
    return JSON.stringify(this.events.map((e) => e.args), (_key, value: unknown) => (value instanceof Error ? value.message : value));
  }
}

/** Records `event` of `client`, typed by the client's event map. */
export function record<K extends keyof StreamerClientEvents>(client: StreamerClient, event: K): SdkRecorder<StreamerClientEvents, K>;
export function record<K extends keyof ViewerClientEvents>(client: ViewerClient, event: K): SdkRecorder<ViewerClientEvents, K>;
export function record(client: Emitter<EventMap>, event: string): SdkRecorder<EventMap, string> {
  return new SdkRecorder(client, event);
}

/** The pod's `presence_heartbeats_total` (heartbeats it received; connects not included). */
export async function heartbeatsOn(app: AppProcess): Promise<number> {
  const text = await (await fetch(`${app.url}/metrics`)).text();
  const match = /^presence_heartbeats_total(?:\{[^}]*\})? (\d+(?:\.\d+)?)$/m.exec(text);
  if (match === null) throw new Error(`presence_heartbeats_total not in ${app.url}/metrics`);
  return Number(match[1]);
}
