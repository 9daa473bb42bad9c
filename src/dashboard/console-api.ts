// What the console's routes (`/v1/console/*`, presence/transport/console.controller.ts) answer, shared
// with the page that reads them (dashboard/browser). Types only: nothing here runs.
import type { PodStatus } from '../presence/domain/pod-registry.port.js';

/** A live pod, as it said at its last beat, and when that was (the registry's clock). */
export type PodView = PodStatus & { readonly seenAt: number };

/** One of a streamer's connections, as its lease stands. */
export interface ConnectionView {
  readonly connectionId: string;
  /** The pod holding it; null for an id of a shape this version does not know. */
  readonly pod: string | null;
  /**
   * Open: heartbeating, its lease runs to `liveUntil`; closed: in its reconnect grace until then; parked:
   * open but keeping nobody online (ended, or silent past the TTL), its place held until then.
   */
  readonly state: 'open' | 'closed' | 'parked';
  readonly liveUntil: number;
  /** When its handshake was (the holding pod's clock; null for an id of a shape this version does not know). */
  readonly since: number | null;
  /** Open: its last heartbeat (liveUntil − TTL); closed: when it closed (liveUntil − grace); parked: when its pod last kept its place, or when its lease ran out (liveUntil − TTL). */
  readonly lastSeenAt: number;
}

/** The latest outcome of one transition's webhook. */
export interface WebhookView {
  readonly streamerId: string;
  readonly version: number;
  readonly reason: string;
  /** `retrying`: the latest attempt failed and another is due; `dead_lettered`: given up after the retention. */
  readonly status: 'delivered' | 'retrying' | 'dead_lettered';
  readonly attempts: number;
  /** When this outcome was recorded (the recording pod's clock). */
  readonly at: number;
  readonly pod: string;
}
