// Streamers for the delivery phases:
// - SDK StreamerClients that connect (→ `connected` at viewers) and later close (→ `disconnected`
//   after the reconnect grace);
// - "silent" streamers: plain sockets that heartbeat like the SDK, then stop while their socket stays
//   open (an app whose heartbeat timer froze) — the SDK always heartbeats, so it cannot model them —
//   whose leases then run out by the TTL (→ `timeout`);
// - for the broadcast baseline, one plain socket per pod that asks its pod to emit to a room.
import { sleep, wallNow } from './clock.mjs';
import { paced } from './pace.mjs';
import { once, rawSocket } from './raw-socket.mjs';
import { loadSdk } from './sdk.mjs';
import { signToken } from './tokens.mjs';

export function createStreamers(progress) {
  let sdkClients = [];
  let warmClients = [];
  let silent = [];
  let control = [];
  const counts = { connecting: 0, sessions: 0, closed: 0, silentBeating: 0, fired: 0, errors: 0 };
  progress.streamers = counts;

  return {
    /**
     * `streamers`: [{ id, url, pod }]. Resolves with [id, pod, connect start wallNow(), session wallNow()].
     * `warmup`: these stay connected until closeAll() (close() leaves them alone).
     */
    async connect({ streamers, ratePerSec, secret, warmup = false, sessionTimeoutMs = 30_000 }) {
      const { StreamerClient } = await loadSdk();
      const tokens = streamers.map(({ id }) => signToken(id, 'streamer', secret));
      const started = await paced(streamers, ratePerSec, ({ id, url, pod }, i) => {
        const t0 = wallNow();
        counts.connecting++;
        const client = new StreamerClient({ url, token: tokens[i] });
        client.on('error', () => counts.errors++);
        (warmup ? warmClients : sdkClients).push({ id, client });
        return new Promise((resolve) => {
          const timer = setTimeout(() => resolve([id, pod, t0, null]), sessionTimeoutMs);
          client.once('session', () => {
            clearTimeout(timer);
            counts.sessions++;
            resolve([id, pod, t0, wallNow()]);
          });
        });
      });
      return { streamers: started };
    },
    /** Closes the SDK streamers without `end`, at `ratePerSec`; resolves with [id, close Date.now()]. */
    async close({ ratePerSec }) {
      const clients = sdkClients;
      sdkClients = [];
      const closed = await paced(clients, ratePerSec, ({ id, client }) => {
        const at = Date.now();
        client.close();
        counts.closed++;
        return [id, at];
      });
      return { closed };
    },
    /** Silent streamers: connect and heartbeat every `intervalMs` (awaiting acks) until stopSilent(). */
    async connectSilent({ streamers, ratePerSec, secret, intervalMs }) {
      silent = await paced(streamers, ratePerSec, async ({ id, url, pod }) => {
        const socket = rawSocket(url, '/streamer', signToken(id, 'streamer', secret));
        const state = { id, pod, socket, lastSent: 0, lastServerTime: 0, inFlight: 0, timer: null };
        await once(socket, 'session');
        const beat = async () => {
          state.lastSent = Date.now();
          state.inFlight++;
          try {
            const ack = await socket.timeout(10_000).emitWithAck('heartbeat', {});
            if (ack?.ok) state.lastServerTime = Math.max(state.lastServerTime, ack.serverTime);
            else counts.errors++;
          } catch {
            counts.errors++;
          } finally {
            state.inFlight--;
          }
        };
        await beat();
        // Jittered like the SDK (a little early, never late), so they do not beat in lockstep.
        const schedule = () => {
          state.timer = setTimeout(() => {
            void beat();
            schedule();
          }, intervalMs * (1 - 0.1 * Math.random()));
        };
        schedule();
        counts.silentBeating++;
        return state;
      });
      return { open: silent.length };
    },
    /**
     * Stops every silent streamer's heartbeats (sockets stay open) and, once the acks in flight are in,
     * resolves with [id, last heartbeat sent Date.now(), last ack's serverTime].
     */
    async stopSilent() {
      for (const state of silent) clearTimeout(state.timer);
      counts.silentBeating = 0;
      const deadline = Date.now() + 11_000;
      while (silent.some((state) => state.inFlight > 0) && Date.now() < deadline) await sleep(20);
      return { silent: silent.map(({ id, lastSent, lastServerTime }) => [id, lastSent, lastServerTime]) };
    },
    /** Broadcast baseline: one control socket per pod URL. */
    async openControl({ urls }) {
      control = await Promise.all(urls.map(async (url) => {
        const socket = rawSocket(url, '/viewer');
        await once(socket, 'connect');
        return socket;
      }));
      return { open: control.length };
    },
    /**
     * Broadcast baseline: for each { id, pod }, asks pod `pod` to emit an `online` event to the room of
     * `id`, at `ratePerSec`; resolves with [id, pod, emit wallNow()].
     */
    async fire({ streamers, ratePerSec }) {
      const fired = await paced(streamers, ratePerSec, ({ id, pod }) => {
        const t0 = wallNow();
        control[pod].emit('fire', {
          room: `streamer:${id}`,
          payload: { streamerId: id, status: 'online', since: Date.now(), version: 1, reason: 'connected' },
        });
        counts.fired++;
        return [id, pod, t0];
      });
      return { fired };
    },
    closeAll() {
      for (const { client } of [...sdkClients, ...warmClients]) client.close();
      warmClients = [];
      for (const { socket, timer } of silent) {
        clearTimeout(timer);
        socket.disconnect();
      }
      for (const socket of control) socket.disconnect();
      sdkClients = [];
      silent = [];
      control = [];
      return { closed: true };
    },
  };
}
