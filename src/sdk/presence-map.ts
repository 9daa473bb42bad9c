import type { Meta, PresenceEvent, PresenceReason, PresenceState } from '../presence/domain/presence-state.js';

/** A change a viewer can see: the state now, the one before (undefined the first time an id is seen). */
export interface PresenceChange {
  readonly state: PresenceState;
  readonly previous: PresenceState | undefined;
  /** The event's reason; undefined when the change came from a snapshot (a subscribe ack). */
  readonly reason: PresenceReason | undefined;
}

/**
 * The latest known presence of each streamer, merged by version (pure: no sockets, no timers).
 *
 * Snapshots (subscribe acks) and events race each other, and a reconnect replays a snapshot of what
 * the client may already know, so every state goes through {@link PresenceMap.apply}: one whose
 * `version` is not higher than the known one is dropped, and an accepted one is reported only when it
 * changes what a viewer sees (status, `since` or meta). A newer version that changes none of them is
 * stored silently.
 */
export class PresenceMap {
  private readonly states = new Map<string, PresenceState>();

  /**
   * Merges a snapshot state or an event. Returns the change, or undefined when the state is stale, a
   * duplicate, or changes nothing visible.
   */
  apply(incoming: PresenceState | PresenceEvent): PresenceChange | undefined {
    const previous = this.states.get(incoming.streamerId);
    if (previous !== undefined && !(incoming.version > previous.version)) return undefined;
    const state = toState(incoming);
    this.states.set(state.streamerId, state);
    if (previous !== undefined && !isVisibleChange(previous, state)) return undefined;
    return { state, previous, reason: 'reason' in incoming ? incoming.reason : undefined };
  }

  get(streamerId: string): PresenceState | undefined {
    return this.states.get(streamerId);
  }

  has(streamerId: string): boolean {
    return this.states.has(streamerId);
  }

  /** Forgets `streamerId`: the next state for it is taken whatever its version (a first sight). */
  delete(streamerId: string): boolean {
    return this.states.delete(streamerId);
  }

  get size(): number {
    return this.states.size;
  }

  /** A copy: later merges do not change it. */
  snapshot(): Map<string, PresenceState> {
    return new Map(this.states);
  }
}

/** Whether a viewer sees a difference between two states of one streamer. */
export function isVisibleChange(a: PresenceState, b: PresenceState): boolean {
  return a.status !== b.status || a.since !== b.since || !sameMeta(a.meta, b.meta);
}

/** Shallow equality of two flat metas (key order does not matter). */
export function sameMeta(a: Meta | undefined, b: Meta | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((key) => Object.prototype.hasOwnProperty.call(b, key) && a[key] === b[key]);
}

/** A frozen `PresenceState` with only its own fields (an event's `reason` is not part of the state). */
function toState(incoming: PresenceState): PresenceState {
  const { streamerId, status, since, version, meta } = incoming;
  return Object.freeze(
    meta === undefined
      ? { streamerId, status, since, version }
      : { streamerId, status, since, version, meta: Object.freeze({ ...meta }) },
  );
}
