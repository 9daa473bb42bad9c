import type { PresenceEvent } from '../domain/presence-state.js';

/**
 * Delivers events to the viewers subscribed to a streamer, on every pod. The store hands each event to
 * exactly one caller cluster-wide, so a publisher must emit it once (the Socket.IO adapter fans it out).
 */
export interface PresencePublisher {
  publish(event: PresenceEvent): void;
}
