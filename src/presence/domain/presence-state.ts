/** What a streamer app may attach to its presence: flat, JSON-safe scalars only. */
export type Meta = Readonly<Record<string, string | number | boolean | null>>;

export type PresenceStatus = 'online' | 'offline';

/** Why a streamer's presence changed; every event carries exactly one. */
export type PresenceReason = 'connected' | 'meta' | 'ended' | 'disconnected' | 'timeout';

/** A streamer's presence as viewers see it. `version` orders states and events of one streamer. */
export interface PresenceState {
  readonly streamerId: string;
  readonly status: PresenceStatus;
  /** When the current status began, in ms since the epoch (0 for a never-seen streamer). */
  readonly since: number;
  readonly version: number;
  readonly meta?: Meta;
}

export interface PresenceEvent extends PresenceState {
  readonly reason: PresenceReason;
}

/** The state of a streamer the service has never seen (or has long forgotten). */
export function neverSeen(streamerId: string): PresenceState {
  return { streamerId, status: 'offline', since: 0, version: 0 };
}

export function sameMeta(a: Meta | undefined, b: Meta | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && a[key] === b[key]);
}
