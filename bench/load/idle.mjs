// Idle connections for the memory measurement: streamer sockets that connect, get their `session`
// (so the server has done all its per-connection work) and then send nothing; Socket.IO's own ping
// is the only traffic. The same sockets for the service and the bare server.
import { paced } from './pace.mjs';
import { once, rawSocket } from './raw-socket.mjs';
import { signToken } from './tokens.mjs';

const CONNECT_ATTEMPTS = 3;

export function createIdle(progress) {
  let sockets = [];
  const counts = { open: 0, retried: 0 };
  progress.idle = counts;
  return {
    async open({ url, count, idPrefix, secret, ratePerSec = 1_000 }) {
      const ids = Array.from({ length: count }, (_, i) => `${idPrefix}${i}`);
      const tokens = ids.map((id) => signToken(id, 'streamer', secret));
      sockets = await paced(ids, ratePerSec, async (_id, i) => {
        // A connect the server's accept queue dropped (a busy host, 1,000 a second) is tried again, as
        // any client would: what is measured is the memory of the connections once open.
        for (let attempt = 1; ; attempt++) {
          const socket = rawSocket(url, '/streamer', tokens[i]);
          try {
            await once(socket, 'session', 60_000);
            counts.open++;
            return socket;
          } catch (error) {
            socket.disconnect();
            if (attempt >= CONNECT_ATTEMPTS) throw error;
            counts.retried++;
            await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
          }
        }
      });
      return { open: sockets.length, retried: counts.retried };
    },
    /**
     * Closes every socket; with `end`, each first sends `end` (the service then takes its streamer
     * offline at once, instead of after the reconnect grace in the middle of the next phase).
     */
    async close({ end = false } = {}) {
      if (end) {
        await paced(sockets, 2_000, (socket) => socket.timeout(10_000).emitWithAck('end', {}).catch(() => null));
      }
      for (const socket of sockets) socket.disconnect();
      sockets = [];
      counts.open = 0;
      counts.retried = 0;
      return { closed: true };
    },
  };
}
