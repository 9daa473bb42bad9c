import { idTime, type LogEntry } from '../presence/domain/transition-log.js';

/**
 * The replay after an outage (redis-recovery.ts): what of the log this pod's viewers may have missed,
 * given when its outage began and when its connections were all back. Pure; times in ms.
 */
export interface ReplayWindow {
  /** This pod's outage began, less a margin (noticing takes a probe and a timeout; clocks differ a little). */
  readonly from: number;
  /** Decided before this, an entry the log got again after a loss had reached this pod's viewers before. */
  readonly decidedFrom: number;
  /**
   * Appended after this, an entry was sent by a relay once this pod's subscriptions were back (its
   * connections all up, plus a margin); Infinity when some may come back later (a Cluster's).
   */
  readonly appendedUntil: number;
}

/**
 * Whether to send `entry` again to this pod's viewers. One the relays had sent before the loss
 * (`viewersHad`) is sent again when that was after this pod's outage began, whenever it was decided: its
 * subscriptions may have been down then. Any other, when it was appended before this pod's
 * subscriptions were back, and was decided within the window (one appended again after a loss was
 * decided before it).
 */
export function isReplayed(entry: LogEntry, window: ReplayWindow): boolean {
  // The mark first: an entry decided long before, but sent by a lagging relay after this pod's outage
  // began, is left out by the relays (marked) and must come from here.
  if (entry.viewersHad !== undefined) return entry.viewersHad >= window.from;
  if (entry.at < window.decidedFrom) return false;
  return idTime(entry.id) <= window.appendedUntil;
}
