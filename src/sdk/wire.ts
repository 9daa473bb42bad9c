// The wire protocol as the SDK's sockets see it (docs/PROTOCOL.md). The server's own event maps import
// server-side types, so the client side restates the event maps here; the pure wire types (presence
// states, refusals) are shared with the server as type-only imports, which leave nothing at run time.
import type { AckError } from '../presence/domain/ack.js';
import type { Meta, PresenceEvent, PresenceState } from '../presence/domain/presence-state.js';

/** The codes a refusal carries (switch on them; the message is for humans), and a refusal's shape. */
export type { AckError, ErrorCode } from '../presence/domain/ack.js';

/** What the server sends a streamer right after it connects. */
export interface Session {
  readonly streamerId: string;
  readonly heartbeatIntervalMs: number;
  readonly presenceTtlMs: number;
  /** The presence store's clock, ms since the epoch. */
  readonly serverTime: number;
}

export type HeartbeatAck = { readonly ok: true; readonly serverTime: number; readonly nextHeartbeatMs: number } | AckError;
export type EndAck = { readonly ok: true } | AckError;
export type SubscribeAck = { readonly ok: true; readonly presence: PresenceState[] } | AckError;
export type UnsubscribeAck = { readonly ok: true } | AckError;

/** `/streamer`: server to client. */
export interface StreamerListenEvents {
  session: (session: Session) => void;
  occupancy: (occupancy: { viewers: number }) => void;
}

/** `/streamer`: client to server. */
export interface StreamerEmitEvents {
  heartbeat: (payload: { meta?: Meta }, ack: (ack: HeartbeatAck) => void) => void;
  end: (payload: Record<string, never>, ack: (ack: EndAck) => void) => void;
}

/** `/viewer`: server to client. */
export interface ViewerListenEvents {
  presence: (event: PresenceEvent) => void;
  resync: () => void;
}

/** `/viewer`: client to server. */
export interface ViewerEmitEvents {
  subscribe: (payload: { streamerIds: string[] }, ack: (ack: SubscribeAck) => void) => void;
  unsubscribe: (payload: { streamerIds: string[] }, ack: (ack: UnsubscribeAck) => void) => void;
}

/** The contract's limits, enforced by the server; the SDK checks them first to fail clearly. */
export const LIMITS = Object.freeze({
  /** Ids per `subscribe` / `unsubscribe` request. */
  idsPerRequest: 100,
  /** Distinct subscriptions one socket may hold. */
  subscriptionsPerSocket: 1000,
});

const STREAMER_ID = /^[A-Za-z0-9_.:-]{1,64}$/;

export function isStreamerId(value: unknown): value is string {
  return typeof value === 'string' && STREAMER_ID.test(value);
}
