// The closed heartbeat loop: C streamer connections, each sending `heartbeat`, awaiting its ack and
// sending the next at once. The same code drives the service and the bare baseline server, so the
// acks per second of the two compare directly. The orchestrator sets the measured window with mark().
import { sleep } from './clock.mjs';
import { paced } from './pace.mjs';
import { once, rawSocket } from './raw-socket.mjs';
import { signToken } from './tokens.mjs';

const ACK_TIMEOUT_MS = 5_000;

export function createHeartbeatLoop(progress) {
  let sockets = [];
  let running = false;
  let loops = [];
  let rtts = [];
  let finished = 0;
  const counts = { acks: 0, errors: 0, timeouts: 0 };
  progress.heartbeat = counts;

  // A plain ack callback, no per-emit timer: the generator must stay cheap next to the server it
  // drives. A lost ack stalls one loop only; stop() gives up on it after ACK_TIMEOUT_MS.
  function loop(socket) {
    return new Promise((resolve) => {
      let sent = 0;
      const send = () => {
        if (!running || !socket.connected) {
          finished++;
          resolve();
          return;
        }
        sent = performance.now();
        socket.emit('heartbeat', {}, onAck);
      };
      const onAck = (ack) => {
        if (ack?.ok) {
          counts.acks++;
          rtts.push(performance.now() - sent);
        } else {
          counts.errors++;
        }
        send();
      };
      send();
    });
  }

  return {
    /** Opens `clients` streamer connections to `url` and waits for each one's `session`. */
    async open({ url, clients, idPrefix, secret, ratePerSec = 500 }) {
      const ids = Array.from({ length: clients }, (_, i) => `${idPrefix}${i}`);
      sockets = await paced(ids, ratePerSec, async (id) => {
        const socket = rawSocket(url, '/streamer', signToken(id, 'streamer', secret));
        await once(socket, 'session');
        return socket;
      });
      return { open: sockets.length };
    },
    start() {
      running = true;
      finished = 0;
      loops = sockets.map((socket) => loop(socket));
      return { started: loops.length };
    },
    /** The counters so far; starts a fresh ack round-trip sample. */
    mark() {
      const snapshot = { ...counts, rttMs: rtts, at: Date.now() };
      rtts = [];
      return snapshot;
    },
    async stop() {
      running = false;
      await Promise.race([Promise.all(loops), sleep(ACK_TIMEOUT_MS + 1_000)]);
      // A loop still waiting for its ack by now lost it.
      counts.timeouts += loops.length - finished;
      loops = [];
      return { ...counts };
    },
    async close({ end = false } = {}) {
      if (end) await paced(sockets, 2_000, (socket) => socket.timeout(10_000).emitWithAck('end', {}).catch(() => null));
      for (const socket of sockets) socket.disconnect();
      sockets = [];
      counts.acks = counts.errors = counts.timeouts = 0;
      rtts = [];
      return { closed: true };
    },
  };
}
