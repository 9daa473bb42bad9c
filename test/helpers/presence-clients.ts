import type { Socket } from 'socket.io-client';
import type { PresenceEvent, PresenceState } from '../../src/presence/domain/presence-state.js';
import { connectStreamer, connectViewer, EventRecorder } from './clients.js';
import { sleep } from './timing.js';
import { signToken } from './tokens.js';

/**
 * Timings scaled down ~100× from the defaults, keeping their proportions: heartbeat < TTL, TTL ≥ 2 ×
 * heartbeat, Socket.IO ping + timeout (derived from the LB timeout) inside the LB timeout.
 */
export const FAST_TIMING = {
  HEARTBEAT_INTERVAL_MS: '400',
  PRESENCE_TTL_MS: '1200',
  RECONNECT_GRACE_MS: '700',
  LB_IDLE_TIMEOUT_MS: '2000',
} as const;

export const TTL_MS = Number(FAST_TIMING.PRESENCE_TTL_MS);
export const GRACE_MS = Number(FAST_TIMING.RECONNECT_GRACE_MS);
export const HEARTBEAT_MS = Number(FAST_TIMING.HEARTBEAT_INTERVAL_MS);

/** A viewer subscribed to `ids`, recording the presence events it receives from then on. */
export interface Watcher {
  readonly socket: Socket;
  readonly events: EventRecorder<PresenceEvent>;
  readonly snapshot: PresenceState[];
}

export async function watch(url: string, ids: string[]): Promise<Watcher> {
  const socket = await connectViewer(url);
  const events = new EventRecorder<PresenceEvent>(socket, 'presence');
  const ack = await socket.timeout(5_000).emitWithAck('subscribe', { streamerIds: ids });
  if (!ack.ok) throw new Error(`subscribe refused: ${JSON.stringify(ack)}`);
  return { socket, events, snapshot: ack.presence };
}

/** Connects `streamerId` with a freshly signed streamer token. */
export function streamer(url: string, streamerId: string, opts: Parameters<typeof connectStreamer>[2] = {}): Promise<Socket> {
  return connectStreamer(url, signToken({ sub: streamerId, role: 'streamer' }), opts);
}

/**
 * A stream of three transitions: `streamerId` connects (online), heartbeats with a meta (meta), stays live
 * for `liveMs` heartbeating every HEARTBEAT_MS (its lease never runs out, so the only offline is its end),
 * then sends `end` (ended) and closes. Throws unless each heartbeat is answered `ok` and `end` exactly `{ ok: true }`.
 */
export async function streamerSession(url: string, streamerId: string, liveMs = 0): Promise<void> {
  const socket = await streamer(url, streamerId);
  const heartbeat = async (payload: unknown): Promise<void> => {
    const ack = (await socket.timeout(5_000).emitWithAck('heartbeat', payload)) as { ok?: boolean };
    if (ack?.ok !== true) throw new Error(`${streamerId}: heartbeat answered ${JSON.stringify(ack)}`);
  };
  await heartbeat({ meta: { title: `${streamerId} live` } });
  for (const until = Date.now() + liveMs; Date.now() < until; ) {
    await sleep(Math.min(HEARTBEAT_MS, until - Date.now()));
    await heartbeat({});
  }
  const ended: unknown = await socket.timeout(5_000).emitWithAck('end');
  if (JSON.stringify(ended) !== '{"ok":true}') throw new Error(`${streamerId}: end answered ${JSON.stringify(ended)}, not {"ok":true}`);
  socket.close();
}

/** Heartbeats every `everyMs` until the returned function is called. */
export function keepBeating(socket: Socket, everyMs = HEARTBEAT_MS): () => void {
  const timer = setInterval(() => socket.emit('heartbeat'), everyMs);
  return () => clearInterval(timer);
}

/**
 * Connects `streamerId` and heartbeats from the moment it is connected, for a test that needs it online
 * throughout: beating only once several sockets are connected lets the first ones' TTL run out on a
 * busy machine. Call `stop` before `end`, or a later heartbeat brings the streamer back.
 */
export async function beatingStreamer(url: string, streamerId: string, everyMs = HEARTBEAT_MS): Promise<{ socket: Socket; stop: () => void }> {
  const socket = await streamer(url, streamerId);
  return { socket, stop: keepBeating(socket, everyMs) };
}

/** Versions of a stream of events for one streamer must strictly increase. */
export function versionsOf(events: readonly { payload: PresenceEvent }[]): number[] {
  return events.map((event) => event.payload.version);
}

export function strictlyIncreasing(values: readonly number[]): boolean {
  return values.every((value, i) => i === 0 || value > values[i - 1]!);
}
