import type { PresenceState } from '../../src/presence/domain/presence-state.js';
import { watch, type Watcher } from './presence-clients.js';

/** A viewer that handles `resync` as clients must (see {@link resyncingViewer}). */
export interface ResyncingViewer extends Watcher {
  /** Every state it was given after its first snapshot, events and resync snapshots, in arrival order. */
  seen(): PresenceState[];
  /**
   * The states that turned its view of a streamer from online to offline, applying the contract's rule
   * (the highest version wins; anything not newer is dropped): what a user of the SDK would have seen.
   */
  wentOffline(): PresenceState[];
}

/**
 * A viewer that does what the contract asks of clients (and the SDK does) on `resync`: the pod lost Redis
 * (or moved to another shard layout) and events may have been missed, so it subscribes again and takes
 * the snapshot.
 */
export async function resyncingViewer(url: string, ids: string[]): Promise<ResyncingViewer> {
  const watcher = await watch(url, ids);
  const arrivals: PresenceState[] = [];
  watcher.socket.on('presence', (event: PresenceState) => arrivals.push(event));
  watcher.socket.on('resync', () => {
    void watcher.socket
      .timeout(5_000)
      .emitWithAck('subscribe', { streamerIds: ids })
      .then((ack: { ok: boolean; presence?: PresenceState[] }) => arrivals.push(...(ack.presence ?? [])), () => undefined);
  });
  return {
    ...watcher,
    seen: () => [...arrivals],
    wentOffline() {
      const view = new Map<string, PresenceState>(watcher.snapshot.map((state) => [state.streamerId, state]));
      const flips: PresenceState[] = [];
      for (const state of arrivals) {
        const known = view.get(state.streamerId);
        if (known !== undefined && state.version <= known.version) continue;
        if (state.status === 'offline' && known?.status === 'online') flips.push(state);
        view.set(state.streamerId, state);
      }
      return flips;
    },
  };
}
