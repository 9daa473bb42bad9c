import type { Meta, PresenceEvent } from '../../../src/presence/domain/presence-state.js';
import type { PresenceTiming, StreamerRecord, Transition } from '../../../src/presence/domain/streamer-record.js';
import { close, connect, emptyRecord, end, expire, heartbeat } from '../../../src/presence/domain/streamer-record.js';

/**
 * Runs the pure rules over a script of timed steps, the way a store would (persist `next`, collect
 * `events`), so a scenario reads as a table: what happened when, and which events came out.
 */
export type Step =
  | { readonly op: 'connect'; readonly conn: string; readonly at: number }
  | { readonly op: 'heartbeat'; readonly conn: string; readonly at: number; readonly meta?: Meta }
  | { readonly op: 'close'; readonly conn: string; readonly at: number }
  | { readonly op: 'end'; readonly at: number }
  | { readonly op: 'expire'; readonly at: number };

export const STREAMER = 'streamer-1';

export function apply(record: StreamerRecord, step: Step, timing: PresenceTiming): Transition {
  switch (step.op) {
    case 'connect':
      return connect(record, step.conn, step.at, timing);
    case 'heartbeat':
      return heartbeat(record, step.conn, step.at, timing, step.meta);
    case 'close':
      return close(record, step.conn, step.at, timing);
    case 'end':
      return end(record, step.at, timing);
    case 'expire':
      return expire(record, step.at, timing);
  }
}

export interface Run {
  readonly record: StreamerRecord;
  readonly events: PresenceEvent[];
  /** The events of each step, in step order. */
  readonly perStep: PresenceEvent[][];
}

export function run(steps: readonly Step[], timing: PresenceTiming, start: StreamerRecord = emptyRecord(STREAMER)): Run {
  let record = start;
  const events: PresenceEvent[] = [];
  const perStep: PresenceEvent[][] = [];
  for (const step of steps) {
    const transition = apply(record, step, timing);
    expect(transition.previous).toBe(record);
    record = transition.next;
    events.push(...transition.events);
    perStep.push([...transition.events]);
  }
  return { record, events, perStep };
}

/** The part of an event a scenario table states: [status, reason, since]. */
export function brief(events: readonly PresenceEvent[]): Array<[string, string, number]> {
  return events.map((e) => [e.status, e.reason, e.since]);
}

/** Each event's version is above the previous one's (and above the starting record's). */
export function expectVersionsIncrease(events: readonly PresenceEvent[], floor = 0): void {
  let previous = floor;
  for (const e of events) {
    expect(e.version).toBeGreaterThan(previous);
    expect(Number.isSafeInteger(e.version)).toBe(true);
    previous = e.version;
  }
}

/** Step builders, to keep the tables short. */
export const at = {
  connect: (conn: string, t: number): Step => ({ op: 'connect', conn, at: t }),
  heartbeat: (conn: string, t: number, meta?: Meta): Step =>
    meta === undefined ? { op: 'heartbeat', conn, at: t } : { op: 'heartbeat', conn, at: t, meta },
  close: (conn: string, t: number): Step => ({ op: 'close', conn, at: t }),
  end: (t: number): Step => ({ op: 'end', at: t }),
  expire: (t: number): Step => ({ op: 'expire', at: t }),
};
