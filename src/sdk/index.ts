// The client SDK: browser-safe (socket.io-client and the wire types only; no Node APIs).
export { StreamerClient, type StreamerClientEvents, type StreamerClientOptions } from './streamer-client.js';
export { ViewerClient, type ViewerClientEvents, type ViewerClientOptions } from './viewer-client.js';
export type { ConnectionOptions, ConnectionState } from './connection.js';
export { PresenceMap, type PresenceChange, isVisibleChange, sameMeta } from './presence-map.js';
export { Backoff, backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { Emitter, type EventMap, type Listener } from './emitter.js';
export { PresenceError } from './errors.js';
export { isStreamerId, LIMITS, type ErrorCode, type Session } from './wire.js';
export type { Meta, PresenceEvent, PresenceReason, PresenceState, PresenceStatus } from '../presence/domain/presence-state.js';
