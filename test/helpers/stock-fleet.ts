// Streamers and viewers on stock socket.io-clients (no SDK), connected through a load balancer, and
// everything they saw: for the tests that move them between pods (drains, rolling restarts) and then
// assert that nobody noticed.
import { io, type ManagerOptions, type Socket } from 'socket.io-client';
import type { PresenceEvent, PresenceState } from '../../src/presence/domain/presence-state.js';
import type { AppProcess } from './app-process.js';
import { registerCleanup } from './cleanup.js';
import { waitUntil } from './timing.js';
import { signToken } from './tokens.js';

/** socket.io-client's reconnection backoff; each delay is randomized by ± `randomizationFactor`. */
export type Backoff = Partial<Pick<ManagerOptions, 'reconnectionDelay' | 'reconnectionDelayMax' | 'randomizationFactor'>>;

export interface FleetClient {
  readonly label: string;
  readonly socket: Socket;
  /** Streamer: connected. Viewer: connected and (re)subscribed. */
  ready: boolean;
  lostAt: number | null;
  /** Milliseconds from each transport close to ready again. */
  readonly reconnectMs: number[];
  readonly disconnectReasons: string[];
  /** connect_error messages, refused heartbeats, failed subscribes. */
  readonly errors: string[];
}

export interface FleetViewer extends FleetClient {
  readonly streamerIds: string[];
  /** The highest version seen per streamer, from snapshots and events. */
  readonly versions: Map<string, number>;
  readonly events: PresenceEvent[];
  /** Offline states found in (re)subscribe snapshots. */
  readonly offlineInSnapshots: PresenceState[];
  resyncs: number;
}

/** What the fleet saw that a user would notice; every list empty means nobody noticed anything. */
export interface Noticed {
  events: string[];
  offline: string[];
  errors: string[];
  /** Versions that moved since {@link StockFleet.recordInitialVersions}: a transition, even one a viewer missed while reconnecting. */
  changed: string[];
  /** Disconnect reasons other than "transport close" (after "io server disconnect" a stock client gives up). */
  reasons: string[];
  resyncs: number;
}

export class StockFleet {
  readonly streamers: FleetClient[] = [];
  readonly viewers: FleetViewer[] = [];
  private readonly streamerIds: string[] = [];
  private readonly initialVersions = new Map<string, number>();

  /**
   * @param url the load balancer's URL
   * @param heartbeatMs how often streamers heartbeat (the server's interval), none queued while disconnected
   * @param backoff reconnection backoff @default socket.io-client's own (1 s, at most 5 s, ± 50 %)
   */
  constructor(
    private readonly url: string,
    private readonly heartbeatMs: number,
    private readonly backoff: Backoff = {},
  ) {}

  addStreamer(id: string): FleetClient {
    const client: FleetClient = this.track(this.blank(`streamer ${id}`, this.socket('/streamer', { token: signToken({ sub: id, role: 'streamer' }) })), () => markReady(client));
    const timer = setInterval(() => {
      if (!client.socket.connected) return;
      client.socket.emit('heartbeat', (ack: { ok?: boolean; error?: { code: string } } | undefined) => {
        if (ack?.ok === false) client.errors.push(`heartbeat refused: ${ack.error?.code}`);
      });
    }, this.heartbeatMs);
    registerCleanup(() => clearInterval(timer));
    this.streamers.push(client);
    this.streamerIds.push(id);
    return client;
  }

  addViewer(label: string, streamerIds: string[]): FleetViewer {
    const viewer: FleetViewer = this.track(
      { ...this.blank(label, this.socket('/viewer')), streamerIds, versions: new Map(), events: [], offlineInSnapshots: [], resyncs: 0 },
      () => subscribe(viewer),
    );
    viewer.socket.on('presence', (event: PresenceEvent) => {
      viewer.events.push(event);
      viewer.versions.set(event.streamerId, Math.max(event.version, viewer.versions.get(event.streamerId) ?? 0));
    });
    viewer.socket.on('resync', () => {
      viewer.resyncs++;
      void subscribe(viewer);
    });
    this.viewers.push(viewer);
    return viewer;
  }

  everyone(): FleetClient[] {
    return [...this.streamers, ...this.viewers];
  }

  /** Resolves once every client is connected (and every viewer subscribed); else names a few that are not. */
  async allReady(timeoutMs: number): Promise<void> {
    const notReady = (): FleetClient[] => this.everyone().filter((c) => !c.ready);
    await waitUntil(() => notReady().length === 0, timeoutMs, 20).catch(() => {
      const missing = notReady();
      throw new Error(`${missing.length} clients not connected again, e.g. ${missing.slice(0, 5).map((c) => `${c.label} (${c.errors.join('; ') || 'no error'})`).join(', ')}`);
    });
  }

  /** Waits until `app` reports every streamer online, and records their versions: a version that moves later is a transition. */
  async recordInitialVersions(app: AppProcess, timeoutMs = 10_000): Promise<void> {
    await waitUntil(async () => {
      const states = await Promise.all(this.streamerIds.map(async (id) => (await (await fetch(`${app.url}/v1/streamers/${id}/presence`)).json()) as PresenceState));
      if (!states.every((s) => s.status === 'online')) return false;
      for (const s of states) this.initialVersions.set(s.streamerId, s.version);
      return true;
    }, timeoutMs, 100);
  }

  /** The version `id` had when {@link recordInitialVersions} ran. */
  initialVersion(id: string): number | undefined {
    return this.initialVersions.get(id);
  }

  /** How many reconnects each client has made so far, to pick out later the ones of one phase. */
  reconnectCounts(): Map<FleetClient, number> {
    return new Map(this.everyone().map((c) => [c, c.reconnectMs.length]));
  }

  reconnectTimesSince(counts: Map<FleetClient, number>): number[] {
    return this.everyone().flatMap((c) => c.reconnectMs.slice(counts.get(c) ?? 0));
  }

  noticed(): Noticed {
    return {
      events: this.viewers.flatMap((v) => v.events.map((e) => `${v.label}: ${e.streamerId} ${e.status} (${e.reason}) v${e.version}`)),
      offline: this.viewers.flatMap((v) => v.offlineInSnapshots.map((s) => `${v.label}: snapshot ${s.streamerId} ${s.status}`)),
      errors: this.everyone().flatMap((c) => c.errors.map((e) => `${c.label}: ${e}`)),
      changed: this.viewers.flatMap((v) =>
        v.streamerIds
          .filter((id) => v.versions.get(id) !== this.initialVersions.get(id))
          .map((id) => `${v.label}: ${id} v${this.initialVersions.get(id)} -> v${v.versions.get(id)}`),
      ),
      reasons: [...new Set(this.everyone().flatMap((c) => c.disconnectReasons))].filter((r) => r !== 'transport close'),
      resyncs: this.viewers.reduce((n, v) => n + v.resyncs, 0),
    };
  }

  private socket(nsp: string, auth?: Record<string, unknown>): Socket {
    // A stock client: its own connection, WebSocket only (no sticky sessions behind the balancer),
    // reconnection on with the randomized exponential backoff.
    return io(`${this.url}${nsp}`, { transports: ['websocket'], forceNew: true, reconnection: true, ...this.backoff, ...(auth ? { auth } : {}) });
  }

  private blank(label: string, socket: Socket): FleetClient {
    return { label, socket, ready: false, lostAt: null, reconnectMs: [], disconnectReasons: [], errors: [] };
  }

  private track<T extends FleetClient>(client: T, onReady: () => void | Promise<void>): T {
    const { socket } = client;
    socket.on('connect', () => void onReady());
    socket.on('disconnect', (reason) => {
      client.ready = false;
      client.lostAt = Date.now();
      client.disconnectReasons.push(reason);
    });
    socket.on('connect_error', (error) => client.errors.push(`connect_error: ${error.message}`));
    socket.io.on('reconnect_failed', () => client.errors.push('reconnect_failed'));
    registerCleanup(() => socket.close());
    return client;
  }
}

function markReady(client: FleetClient): void {
  client.ready = true;
  if (client.lostAt !== null) client.reconnectMs.push(Date.now() - client.lostAt);
  client.lostAt = null;
}

/** Rooms are per socket: a viewer subscribes again after every reconnect, as the SDK does. */
async function subscribe(viewer: FleetViewer): Promise<void> {
  try {
    const ack = await viewer.socket.timeout(5_000).emitWithAck('subscribe', { streamerIds: viewer.streamerIds });
    if (!ack.ok) throw new Error(JSON.stringify(ack.error));
    for (const state of ack.presence as PresenceState[]) {
      if (state.status !== 'online') viewer.offlineInSnapshots.push(state);
      viewer.versions.set(state.streamerId, Math.max(state.version, viewer.versions.get(state.streamerId) ?? 0));
    }
    markReady(viewer);
  } catch (error) {
    viewer.errors.push(`subscribe failed: ${(error as Error).message}`);
  }
}

/** Open connections per pod, from each pod's /metrics. */
export async function connectionsPerPod(pods: ReadonlyMap<string, AppProcess>): Promise<Record<string, number>> {
  const result: Record<string, number> = {};
  for (const [name, app] of pods) {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    result[name] = [...text.matchAll(/^presence_connections\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  }
  return result;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
