import type { Meta } from './presence-state.js';
import { ackError, type Parsed } from './ack.js';
import { isStreamerId } from './streamer-id.js';

/**
 * Validation of what clients send. Hand-written rather than class-validator DTOs: the heartbeat is the
 * hot path (one per streamer per 50 s, cluster-wide), the contract fixes exact error codes that a
 * decorator pipeline would have to be bent to produce, and unknown keys must be refused.
 */

export const MAX_HEARTBEAT_BYTES = 1024;
export const MAX_IDS_PER_REQUEST = 100;

export interface HeartbeatPayload {
  readonly meta?: Meta;
}

export interface StreamerIdsPayload {
  readonly streamerIds: readonly string[];
}

/** A heartbeat without meta, the usual one: one answer for all of them (callers only read it). */
const NO_META: Parsed<HeartbeatPayload> = Object.freeze({ ok: true, value: Object.freeze({}) });

export function parseHeartbeat(payload: unknown): Parsed<HeartbeatPayload> {
  if (payload === undefined || payload === null) return NO_META;
  if (!isPlainObject(payload)) return ackError('invalid_payload', 'heartbeat payload must be an object like { meta?: {...} }');
  const unknown = Object.keys(payload).filter((key) => key !== 'meta');
  if (unknown.length > 0) return ackError('invalid_payload', `unknown key(s) in heartbeat: ${unknown.join(', ')}`);
  // Without meta the payload is `{}`: nothing to measure (most heartbeats).
  if (payload.meta === undefined) return NO_META;
  if (jsonBytes(payload) > MAX_HEARTBEAT_BYTES) {
    return ackError('payload_too_large', `heartbeat payload exceeds ${MAX_HEARTBEAT_BYTES} bytes as JSON`);
  }
  const meta = payload.meta;
  if (!isPlainObject(meta)) return ackError('invalid_payload', 'meta must be an object of string, number, boolean or null values');
  for (const [key, value] of Object.entries(meta)) {
    if (!isMetaValue(value)) return ackError('invalid_payload', `meta.${key} must be a string, a finite number, a boolean or null`);
  }
  return { ok: true, value: { meta: meta as Meta } };
}

/** `end` takes no payload; an empty object is tolerated, anything else is refused. */
export function parseEnd(payload: unknown): Parsed<null> {
  if (payload === undefined || payload === null) return { ok: true, value: null };
  if (isPlainObject(payload) && Object.keys(payload).length === 0) return { ok: true, value: null };
  return ackError('invalid_payload', 'end takes no payload');
}

/** `subscribe` and `unsubscribe`: `{ streamerIds }` with 1 to 100 valid ids. */
export function parseStreamerIds(payload: unknown): Parsed<StreamerIdsPayload> {
  if (!isPlainObject(payload)) return ackError('invalid_payload', 'payload must be an object like { streamerIds: [...] }');
  const unknown = Object.keys(payload).filter((key) => key !== 'streamerIds');
  if (unknown.length > 0) return ackError('invalid_payload', `unknown key(s): ${unknown.join(', ')}`);
  const ids = payload.streamerIds;
  if (!Array.isArray(ids)) return ackError('invalid_payload', 'streamerIds must be an array of streamer ids');
  if (ids.length === 0) return ackError('invalid_payload', 'streamerIds must hold at least one id');
  if (ids.length > MAX_IDS_PER_REQUEST) {
    return ackError('too_many_ids', `streamerIds holds ${ids.length} ids; at most ${MAX_IDS_PER_REQUEST} per request`);
  }
  const bad = ids.findIndex((id) => !isStreamerId(id));
  if (bad >= 0) return ackError('invalid_payload', `streamerIds[${bad}] is not a valid streamer id (^[A-Za-z0-9_.:-]{1,64}$)`);
  return { ok: true, value: { streamerIds: ids as string[] } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function isMetaValue(value: unknown): boolean {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

function jsonBytes(value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value), 'utf8');
  } catch {
    // Nested deeper than the stack allows (a 30,000-deep array fits in one frame): far over any
    // limit, and it must be refused with an ack, not end the handler with an exception.
    return Number.POSITIVE_INFINITY;
  }
}
