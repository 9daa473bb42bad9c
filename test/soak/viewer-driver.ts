// A viewer following a few streamers on a stock socket.io-client through the load balancer: it
// subscribes again after every reconnect and on `resync`, as the SDK does, and records every event and
// snapshot state with its arrival time, and the spans it was away (not connected and subscribed).
import { io, type Socket } from 'socket.io-client';
import type { PresenceEvent, PresenceState } from '../../src/presence/domain/presence-state.js';
import { signToken } from '../helpers/tokens.js';
import type { GeneratorTurns } from './generator-turns.js';
import type { Sighting, ViewerRecord } from './oracle.js';

export class ViewerDriver {
  readonly sightings: Sighting[] = [];
  readonly away: Array<{ from: number; until: number }> = [];
  /** Every socket id it had, one per connection: the pods' lines name them. */
  readonly socketIds: string[] = [];
  /** The last reason it could not subscribe, for the report. */
  lastError: string | null = null;
  private awaySince: number | null;
  private readonly socket: Socket;

  constructor(
    readonly label: string,
    url: string,
    readonly streamerIds: string[],
    anonymous: boolean,
    /** The loopback address it connects from: each client its own, as behind a real load balancer. */
    localAddress: string,
    /** When the generator was last free: what it reads may have arrived since then (oracle.ts `readFrom`). */
    private readonly turns: GeneratorTurns,
  ) {
    // Away from the beginning of time until its first subscription: it is judged from then on only (a
    // viewer made late in a busy ramp was judged on transitions from before it existed).
    this.awaySince = 0;
    this.socket = io(`${url}/viewer`, {
      transports: ['websocket'],
      forceNew: true,
      reconnectionDelay: 300,
      reconnectionDelayMax: 2_000,
      // Passed on to `ws` by engine.io-client in Node (transports/websocket.js), though its types omit it.
      ...({ localAddress } as object),
      ...(anonymous ? {} : { auth: { token: signToken({ sub: label, role: 'viewer', expiresInSec: 24 * 3600 }) } }),
    });
    this.socket.on('connect', () => {
      if (this.socket.id !== undefined) this.socketIds.push(this.socket.id);
      void this.subscribe();
    });
    this.socket.on('connect_error', (error) => {
      this.lastError = `connect_error: ${error.message}`;
    });
    this.socket.on('resync', () => {
      this.awaySince ??= Date.now();
      void this.subscribe();
    });
    this.socket.on('disconnect', () => {
      this.awaySince ??= Date.now();
    });
    this.socket.on('presence', (event: PresenceEvent) => {
      this.sightings.push({ streamerId: event.streamerId, status: event.status, version: event.version, since: event.since, reason: event.reason, at: Date.now(), readFrom: this.readFrom(Math.floor(event.version / 1_000)) });
    });
  }

  /** The socket's state, for the report of a viewer away. */
  get state(): string {
    return this.socket.connected ? 'connected, not subscribed' : this.socket.active ? 'connecting' : 'given up';
  }

  /** Not connected and subscribed right now. */
  get isAway(): boolean {
    return this.awaySince !== null;
  }

  /** Drops its subscriptions and subscribes again (a viewer resubscribing). */
  async resubscribe(): Promise<void> {
    this.awaySince ??= Date.now();
    await this.socket.timeout(5_000).emitWithAck('unsubscribe', { streamerIds: this.streamerIds }).catch(() => undefined);
    await this.subscribe();
  }

  record(now: number): ViewerRecord {
    const away = this.awaySince === null ? this.away : [...this.away, { from: this.awaySince, until: now + 1 }];
    return { label: this.label, streamerIds: this.streamerIds, sightings: this.sightings, away };
  }

  close(): void {
    this.socket.close();
  }

  /**
   * The earliest what it reads now may have arrived: the generator's last free moment, and never before
   * `notBefore`, when the service could first have sent it (an event's decision, read from its version;
   * a snapshot's subscribe).
   */
  private readFrom(notBefore: number): number {
    return Math.min(Date.now(), Math.max(this.turns.lastFree, notBefore));
  }

  private async subscribe(): Promise<void> {
    try {
      const askedAt = Date.now();
      const ack = await this.socket.timeout(5_000).emitWithAck('subscribe', { streamerIds: this.streamerIds });
      if (!ack.ok) throw new Error(ack.error.code);
      const at = Date.now();
      const readFrom = this.readFrom(askedAt);
      for (const state of ack.presence as PresenceState[]) this.sightings.push({ streamerId: state.streamerId, status: state.status, version: state.version, since: state.since, at, readFrom });
      if (this.awaySince !== null) this.away.push({ from: this.awaySince, until: at });
      this.awaySince = null;
    } catch (error) {
      this.lastError = error instanceof Error ? error.message : String(error);
      // Still away; the next reconnect or resync subscribes again, or this retries.
      if (this.socket.connected) setTimeout(() => void this.subscribe(), 1_000).unref();
    }
  }
}
