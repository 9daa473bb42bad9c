import { PresenceMap } from '../../sdk/presence-map.js';
import type { PresenceEvent, PresenceReason, PresenceState } from '../../sdk/index.js';

/** One row of the dashboard: a streamer's state and the reason of the last event seen for it. */
export interface Row {
  readonly state: PresenceState;
  readonly reason: PresenceReason | undefined;
  readonly watched: boolean;
}

/**
 * What the page shows, merged by version from three sources that race: the HTTP list of online
 * streamers, the `/dashboard` event stream, and the ViewerClient's watched ids. Rows are every streamer
 * seen online during this visit plus every watched id, online first, then by id.
 */
export class PageModel {
  private readonly presence = new PresenceMap();
  private readonly reasons = new Map<string, PresenceReason>();
  private readonly watched = new Set<string>();

  /** Merges a state or event; true when something visible changed. */
  apply(incoming: PresenceState | PresenceEvent): boolean {
    const change = this.presence.apply(incoming);
    if ('reason' in incoming && this.presence.get(incoming.streamerId)?.version === incoming.version) {
      this.reasons.set(incoming.streamerId, incoming.reason);
    }
    return change !== undefined;
  }

  watch(ids: readonly string[]): void {
    for (const id of ids) this.watched.add(id);
  }

  get onlineCount(): number {
    let count = 0;
    for (const state of this.presence.snapshot().values()) if (state.status === 'online') count += 1;
    return count;
  }

  rows(): Row[] {
    const rows: Row[] = [];
    for (const state of this.presence.snapshot().values()) {
      // A never-seen streamer (version 0) is listed only while watched.
      if (state.version === 0 && !this.watched.has(state.streamerId)) continue;
      rows.push({ state, reason: this.reasons.get(state.streamerId), watched: this.watched.has(state.streamerId) });
    }
    return rows.sort((a, b) =>
      a.state.status !== b.state.status ? (a.state.status === 'online' ? -1 : 1) : a.state.streamerId < b.state.streamerId ? -1 : 1,
    );
  }
}
