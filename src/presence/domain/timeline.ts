import type { PresenceEvent, PresenceReason, PresenceStatus } from './presence-state.js';

/** How many transitions a streamer's timeline keeps (older ones drop off). */
export const TIMELINE_LENGTH = 50;

/**
 * One transition in a streamer's recent history, as support staff read it: what changed, why, when,
 * and which pod decided it (for `timeout`, the pod whose sweeper claimed the lease).
 */
export interface TimelineEntry {
  readonly status: PresenceStatus;
  readonly reason: PresenceReason;
  /** When the new status began (for an offline: the deadline that passed). */
  readonly since: number;
  readonly version: number;
  /** When the store recorded it, on the store's clock. */
  readonly at: number;
  readonly pod: string;
}

export function timelineEntry(event: PresenceEvent, at: number, pod: string): TimelineEntry {
  return { status: event.status, reason: event.reason, since: event.since, version: event.version, at, pod };
}
