import type { Meta, PresenceEvent, PresenceReason, PresenceStatus } from '../../domain/presence-state.js';

/** Strings per event in a script reply (lua/prelude.lua `emit`). */
export const FIELDS_PER_EVENT = 7;

/**
 * Decodes the events of a script reply from `from` to `to`: 7 strings each (id, status, since, version,
 * reason, meta, and the id of its entry in the shard's log, which `logged` is told).
 */
export function decodeEvents(reply: readonly string[], from: number, to = reply.length, logged?: (event: PresenceEvent, logId: string) => void): PresenceEvent[] {
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
    const event: PresenceEvent = meta === '' ? { ...base, reason } : { ...base, meta: JSON.parse(meta) as Meta, reason };
    events.push(event);
    logged?.(event, reply[i + 6]!);
  }
  return events;
}

/** Meta as the scripts compare it: JSON with sorted keys, so equal metas are equal strings. */
export function canonicalMeta(meta: Meta): string {
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(meta).sort()) sorted[key] = meta[key];
  return JSON.stringify(sorted);
}
