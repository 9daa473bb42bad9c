import type { PresenceEvent } from '../domain/presence-state.js';

/**
 * Delivers events to the viewers subscribed to a streamer, on every pod (the Socket.IO adapter fans
 * each emit out), and to the operators' dashboard. Fed by the viewer relay, from the transition log.
 */
export interface PresencePublisher {
  publish(event: PresenceEvent): void;
}
