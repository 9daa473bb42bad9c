// The closed heartbeat loop: C streamer connections, each sending `heartbeat`, awaiting its ack and
// sending the next at once. The same code drives the service and the bare baseline server, so the
// acks per second of the two compare directly. The orchestrator sets the measured window with mark().
// A generator may hold several sets of connections (`set`, one per server) open at once and drive
// them in turn: see alternatingThroughput in ../phases/throughput.mjs.
//
// Each connection is a socket.io-client socket (the handshake, `session`, pings, `end`), but its
// heartbeats are written to the WebSocket as the very frames socket.io-client would write, and their
// acks are read there: a server cannot tell the difference. Through socket.io-client's emit and ack
// path the generator spent about 20 µs a heartbeat and was the limit (0.98 of its core, the servers at
// 0.88-0.90 of theirs in embedded mode), so the loop measured the generator as much as the servers.
// Frame by frame it spends about 15 µs, and the server it drives is the limit.
import { sleep } from './clock.mjs';
import { paced } from './pace.mjs';
import { once, rawSocket } from './raw-socket.mjs';
import { signToken } from './tokens.mjs';

const ACK_TIMEOUT_MS = 5_000;
/** Heartbeat ack ids start here: far above socket.io-client's own (the `end` of close), never mistaken for them. */
const FIRST_HEARTBEAT_ID = 1_000_000;
const ACK_PREFIX = '43/streamer,';

/**
 * Takes the acks of the loop's heartbeats off `socket`'s WebSocket before socket.io-client reads them;
 * every other frame (pings, socket.io-client's own acks) goes on to it. Returns the socket's loop state.
 */
function frameLevel(socket) {
  const ws = socket.io.engine.transport.ws;
  if (ws === undefined) throw new Error(`heartbeat loop: ${socket.io.engine.transport.name} transport, not a WebSocket`);
  const state = { ws, nextId: FIRST_HEARTBEAT_ID, onAck: null };
  const original = ws.onmessage;
  ws.onmessage = (event) => {
    const data = event.data;
    const id = typeof data === 'string' && data.startsWith(ACK_PREFIX) ? Number.parseInt(data.slice(ACK_PREFIX.length), 10) : -1;
    if (id >= FIRST_HEARTBEAT_ID) {
      state.onAck?.(id, data);
      return;
    }
    original(event);
  };
  return state;
}

export function createHeartbeatLoop(progress) {
  // Every set's acks, for the progress line.
  const total = { acks: 0 };
  progress.heartbeat = total;
  const sets = new Map();
  const setOf = (name = 'default') => {
    let set = sets.get(name);
    if (set === undefined) {
      set = { sockets: [], running: false, generation: 0, loops: [], rtts: [], finished: 0, counts: { acks: 0, errors: 0, timeouts: 0 } };
      sets.set(name, set);
    }
    return set;
  };

  // A plain ack callback, no per-emit timer: the generator must stay cheap next to the server it
  // drives. A lost ack stalls one loop only; stop() gives up on it after ACK_TIMEOUT_MS. An ack that
  // comes after that, once the set runs again, reaches the new loop's callback (one per socket), which
  // takes only the ack of the heartbeat it sent last: the stale one must not send beside the new one.
  function loop(set, socket) {
    const generation = set.generation;
    const state = socket.heartbeatLoop;
    return new Promise((resolve) => {
      let sent = 0;
      const send = () => {
        if (generation !== set.generation) return;
        if (!set.running || !socket.connected) {
          set.finished++;
          resolve();
          return;
        }
        sent = performance.now();
        state.nextId += 1;
        state.ws.send(`42/streamer,${state.nextId}["heartbeat",{}]`);
      };
      state.onAck = (id, ack) => {
        if (generation !== set.generation || id !== state.nextId) return;
        if (ack.includes('"ok":true')) {
          set.counts.acks++;
          total.acks++;
          set.rtts.push(performance.now() - sent);
        } else {
          set.counts.errors++;
        }
        send();
      };
      send();
    });
  }

  return {
    /** Opens `clients` streamer connections to `url` and waits for each one's `session`. */
    async open({ url, clients, idPrefix, secret, ratePerSec = 500, set: name }) {
      const set = setOf(name);
      const ids = Array.from({ length: clients }, (_, i) => `${idPrefix}${i}`);
      set.sockets = await paced(ids, ratePerSec, async (id) => {
        const socket = rawSocket(url, '/streamer', signToken(id, 'streamer', secret));
        await once(socket, 'session');
        socket.heartbeatLoop = frameLevel(socket);
        return socket;
      });
      return { open: set.sockets.length };
    },
    start({ set: name } = {}) {
      const set = setOf(name);
      set.running = true;
      set.generation += 1;
      set.finished = 0;
      set.loops = set.sockets.map((socket) => loop(set, socket));
      return { started: set.loops.length };
    },
    /** The counters so far; starts a fresh ack round-trip sample. */
    mark({ set: name } = {}) {
      const set = setOf(name);
      const snapshot = { ...set.counts, rttMs: set.rtts, at: Date.now() };
      set.rtts = [];
      return snapshot;
    },
    async stop({ set: name } = {}) {
      const set = setOf(name);
      set.running = false;
      await Promise.race([Promise.all(set.loops), sleep(ACK_TIMEOUT_MS + 1_000)]);
      // A loop still waiting for its ack by now lost it.
      set.counts.timeouts += set.loops.length - set.finished;
      set.loops = [];
      return { ...set.counts };
    },
    async close({ end = false, set: name } = {}) {
      const set = setOf(name);
      if (end) await paced(set.sockets, 2_000, (socket) => socket.timeout(10_000).emitWithAck('end', {}).catch(() => null));
      for (const socket of set.sockets) socket.disconnect();
      sets.delete(name ?? 'default');
      return { closed: true };
    },
  };
}
