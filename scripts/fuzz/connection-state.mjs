// One fuzz connection, on either transport: how it behaves (its session), what it joined, which acks
// and CONNECT answers it waits for (bounded: most never come), and the last frame it sent.
import { performance } from 'node:perf_hooks';
import { parseJsonOrNull } from './json.mjs';
import { int, pick, weighted } from './prng.mjs';
import { EIO_TYPES, parseSocketIo } from './socket-io-text.mjs';

const MAX_PENDING = 500;
/** An ack still missing this long after its frame, on a connection that stayed open, was swallowed. */
const ACK_GRACE_MS = 1_000;
/** Where answers go that cannot be pinned on one frame. */
const CONCURRENT_CONNECTS = { kind: '(CONNECTs in flight together)', hostile: null };

/**
 * How a connection behaves until it is closed. Steady ones stay under MESSAGE_RATE_LIMIT (10/s) so the
 * payload checks answer, not the rate limiter; floods meet the flood meter; idle ones join nothing and
 * must be closed by the server's join deadline.
 */
const TEMPOS = [
  [40, { name: 'steady', ms: [80, 140] }],
  [30, { name: 'brisk', ms: [15, 40] }],
  [25, { name: 'flood', ms: [1, 5] }],
  [5, { name: 'idle', ms: null }],
];

export function newSession(r) {
  return {
    tempo: weighted(r, TEMPOS),
    hostileRate: pick(r, [0.05, 0.15, 0.4]),
    // Most mutations cost the connection at once: rare in most sessions, so those live long enough to
    // meet the rate limiter and the flood meter, and common in a few.
    mutationRate: pick(r, [0, 0.003, 0.02, 0.1]),
  };
}

export const reconnectDelay = (r) => int(r, 20, 250);

/** `transport`: 'websocket' or 'polling'; answers are tallied into `stats` (stats.mjs). */
export function connectionState(transport, session, tokens, stats) {
  let ackSeq = 0;
  const acks = new Map();
  const connects = new Map();
  return {
    transport,
    session,
    tokens,
    joined: new Set(),
    /** Joined, or its CONNECT still unanswered. */
    joining(ns) {
      return this.joined.has(ns) || (connects.get(ns)?.length ?? 0) > 0;
    },
    last: { kind: '(nothing sent)', hostile: null },
    ack: () => String((ackSeq += 1)),
    expectAck(id, tag, unanswered) {
      if (acks.size >= MAX_PENDING) acks.delete(acks.keys().next().value);
      acks.set(id, { tag, at: performance.now(), unanswered });
    },
    /** At the connection's end: the acks it waited for in vain, though it stayed open long enough. */
    settle() {
      const now = performance.now();
      for (const { tag, at, unanswered } of acks.values()) {
        if (!unanswered && now - at > ACK_GRACE_MS) stats.outcome(tag, `no ack within ${ACK_GRACE_MS / 1000} s`);
      }
      acks.clear();
    },
    /**
     * Socket.IO answers CONNECTs as their (asynchronous) checks finish, not in the order they came: of
     * CONNECTs to one namespace in flight together, which answer belongs to which is unknown.
     */
    expectConnect(ns, tag) {
      const queue = connects.get(ns) ?? [];
      const overlapping = queue.length > 0;
      for (const entry of queue) entry.overlapping = true;
      if (queue.length < 20) queue.push({ tag, overlapping });
      connects.set(ns, queue);
    },
    /** Reads one server frame (text); returns true when it was a ping to answer. */
    onServerFrame(text) {
      const sio = parseSocketIo(text);
      if (sio === null) {
        stats.replies.add(`eio ${EIO_TYPES[text[0]] ?? 'unknown'}`);
        return text === '2';
      }
      const answered = (queue, what) => {
        const entry = queue?.shift();
        if (entry) stats.outcome(entry.overlapping ? CONCURRENT_CONNECTS : entry.tag, what);
      };
      if (sio.type === '0') {
        this.joined.add(sio.ns);
        stats.replies.add('connect ok');
        answered(connects.get(sio.ns), 'connected');
      } else if (sio.type === '4') {
        const message = parseJsonOrNull(sio.body)?.message ?? '?';
        stats.replies.add(`connect_error ${message}`);
        answered(connects.get(sio.ns), `refused ${message}`);
      } else if (sio.type === '3') {
        const ack = parseJsonOrNull(sio.body)?.[0];
        const what = ack?.ok === true ? 'ack ok' : `ack ${ack?.error?.code ?? 'other'}`;
        stats.replies.add(what);
        const pending = acks.get(sio.id);
        acks.delete(sio.id);
        if (pending) stats.outcome(pending.tag, what);
      } else if (sio.type === '2') {
        stats.replies.add(`event ${/^\["([^"]*)"/.exec(sio.body)?.[1] ?? '?'}`);
      } else if (sio.type === '1') {
        this.joined.delete(sio.ns);
        stats.replies.add('disconnect');
      } else {
        stats.replies.add(`socket.io type ${sio.type}`);
      }
      return false;
    },
  };
}
