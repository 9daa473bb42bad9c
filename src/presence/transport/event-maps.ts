import type { AckError } from '../domain/ack.js';
import type { PresenceEvent, PresenceState } from '../domain/presence-state.js';
import type { Identity } from '../../auth/identity.js';
import type { RequestsInOrder } from './requests-in-order.js';

/** What the server emits on `/streamer`. */
export interface StreamerServerEvents {
  session: (session: { streamerId: string; heartbeatIntervalMs: number; presenceTtlMs: number; serverTime: number }) => void;
  /** Viewer sockets subscribed to this streamer, cluster-wide; when it changes, at most once every 5 s. */
  occupancy: (occupancy: { viewers: number }) => void;
}

/** What the server emits on `/viewer`. */
export interface ViewerServerEvents {
  presence: (event: PresenceEvent) => void;
  resync: () => void;
}

/** What the server emits on `/dashboard`: every presence event, and `ready` once they flow. */
export interface DashboardServerEvents {
  presence: (event: PresenceEvent) => void;
  resync: () => void;
  ready: () => void;
}

export type HeartbeatAck = { ok: true; serverTime: number; nextHeartbeatMs: number } | AckError;
export type EndAck = { ok: true } | AckError;
export type SubscribeAck = { ok: true; presence: PresenceState[] } | AckError;
export type UnsubscribeAck = { ok: true } | AckError;

/** Per-socket data the middlewares attach. */
export interface StreamerSocketData {
  identity: Identity;
  /** `<pod>:<socket id>@<handshake ms>` (connection-id.ts), set when the socket is admitted. */
  connectionId: string;
  /** The store's clock when it admitted the connection (the `session`'s serverTime). */
  admittedAt: number;
  /** Undoes the admission if the transport closes before the socket is connected (no disconnect handler runs then). */
  closedBeforeConnect?: (() => void) | undefined;
  /** Whether the socket holds a place among its streamer's open sockets on this pod (given back once). */
  placeHeld?: boolean;
  /** Still catching up on its first occupancy count: the streamer's notices skip it (occupancy-first-notice.ts). */
  occupancyQuiet?: boolean;
  /** The store holds no place for it (refused over the cap): its close has nothing to record there. */
  placeLost?: boolean;
}

export interface ViewerSocketData {
  identity: Identity | null;
  subscriptions: Set<string>;
  /** The client's address, for the per-address subscription cap. */
  address: string;
  /** Its subscribes and unsubscribes, answered in the order they came (made on the first). */
  requests?: RequestsInOrder;
}
