import type { PresenceEvent, PresenceReason } from '../../sdk/index.js';

/** A transition as the console shows it: the event and the pod that decided it. */
export interface ConsoleEvent {
  readonly event: PresenceEvent;
  readonly pod: string;
  /** When it was decided (for `meta`, `event.since` is the online-since). */
  readonly at: number;
}

export interface EventFilter {
  /** Streamer ids starting with this; '' for all. */
  readonly idPrefix: string;
  /** One reason, or null for all. */
  readonly reason: PresenceReason | null;
}

/** Events kept in the page at most; the oldest go first. */
export const EVENTS_KEPT = 5_000;

/**
 * The live event console's events: each transition once (by streamer and version, so a backfill that
 * overlaps the stream adds nothing), newest first, filtered, and held back while paused.
 */
export class EventList {
  private readonly byKey = new Map<string, ConsoleEvent>();
  private shown: ConsoleEvent[] = [];
  private paused = false;
  private arrivedWhilePaused = 0;

  /** Adds events; true when the shown list changed. */
  add(events: readonly ConsoleEvent[]): boolean {
    let added = 0;
    for (const item of events) {
      const key = `${item.event.streamerId}/${item.event.version}`;
      if (this.byKey.has(key)) continue;
      this.byKey.set(key, item);
      added += 1;
    }
    while (this.byKey.size > EVENTS_KEPT) this.byKey.delete(this.byKey.keys().next().value!);
    if (added === 0) return false;
    if (this.paused) {
      this.arrivedWhilePaused += added;
      return false;
    }
    this.refresh();
    return true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.arrivedWhilePaused = 0;
    this.refresh();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Events that arrived since the pause, shown on resume. */
  get waiting(): number {
    return this.arrivedWhilePaused;
  }

  /** Every event kept, filtered, newest first (by when decided, then version). */
  view(filter: EventFilter, limit = 500): ConsoleEvent[] {
    return this.shown.filter(({ event }) => event.streamerId.startsWith(filter.idPrefix) && (filter.reason === null || event.reason === filter.reason)).slice(0, limit);
  }

  /** Events per second by reason over the `windowMs` before `now`, by when they were decided. */
  ratesByReason(now: number, windowMs = 10_000): Map<PresenceReason, number> {
    const rates = new Map<PresenceReason, number>();
    for (const { event, at } of this.byKey.values()) {
      if (at <= now - windowMs || at > now) continue;
      rates.set(event.reason, (rates.get(event.reason) ?? 0) + 1000 / windowMs);
    }
    return rates;
  }

  /** The pods that decided the kept transitions: how many each, and when its last one was. */
  deciders(): Map<string, { count: number; lastAt: number }> {
    const pods = new Map<string, { count: number; lastAt: number }>();
    for (const { pod, at } of this.byKey.values()) {
      const seen = pods.get(pod) ?? { count: 0, lastAt: 0 };
      pods.set(pod, { count: seen.count + 1, lastAt: Math.max(seen.lastAt, at) });
    }
    return pods;
  }

  private refresh(): void {
    this.shown = [...this.byKey.values()].sort((a, b) => b.at - a.at || b.event.version - a.event.version);
  }
}
