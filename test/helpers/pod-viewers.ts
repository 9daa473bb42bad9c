import type { PresenceEvent } from '../../src/presence/domain/presence-state.js';
import type { Watcher } from './presence-clients.js';

/** A watching viewer and the pod it is connected to (named in failure messages). */
export type PodViewer = Watcher & { pod: string };

export const isReason = (reason: PresenceEvent['reason']) => (event: PresenceEvent) => event.reason === reason;

/** Every viewer's next event (from `fromIndex`) with `reason`; all of them, in viewer order. */
export function allGet(viewers: PodViewer[], reason: PresenceEvent['reason'], fromIndex: number, timeoutMs = 3_000) {
  return Promise.all(
    viewers.map((v) =>
      v.events.waitFor(isReason(reason), timeoutMs, fromIndex).catch((err: Error) => {
        throw new Error(`viewer on pod ${v.pod}: ${err.message}`);
      }),
    ),
  );
}

/** Nothing at all for `ms` on any of the viewers. */
export function noneFor(viewers: PodViewer[], ms: number): Promise<unknown> {
  return Promise.all(
    viewers.map((v) =>
      v.events.expectNoneFor(ms).catch((err: Error) => {
        throw new Error(`viewer on pod ${v.pod}: ${err.message}`);
      }),
    ),
  );
}
