import type { Meta, PresenceEvent, PresenceReason, PresenceStatus } from '../../domain/presence-state.js';

const FIELDS_PER_EVENT = 6;

/** Decodes the events of a script reply from `from` to `to`: 6 strings each (id, status, since, version, reason, meta). */
export function decodeEvents(reply: readonly string[], from: number, to = reply.length): PresenceEvent[] {
  const events: PresenceEvent[] = [];
  for (let i = from; i + FIELDS_PER_EVENT <= to; i += FIELDS_PER_EVENT) {
    const meta = reply[i + 5]!;
    const base = {
      streamerId: reply[i]!,
      status: reply[i + 1] as PresenceStatus,
      since: Number(reply[i + 2]),
      version: Number(reply[i + 3]),
    };
    const reason = reply[i + 4] as PresenceReason;
    events.push(meta === '' ? { ...base, reason } : { ...base, meta: JSON.parse(meta) as Meta, reason });
  }
  return events;
}

/** Meta as the scripts compare it: JSON with sorted keys, so equal metas are equal strings. */
export function canonicalMeta(meta: Meta): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(meta).sort()) sorted[key] = meta[key];
  return JSON.stringify(sorted);
}
