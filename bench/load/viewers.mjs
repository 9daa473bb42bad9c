// Viewers: for the service, SDK ViewerClients that watch their streamers; for the broadcast baseline,
// plain sockets that join the same rooms. Each records the presence events it receives, with their
// arrival time, for the orchestrator to match against when each streamer connected or went away.
import { wallNow } from './clock.mjs';
import { paced } from './pace.mjs';
import { once, rawSocket } from './raw-socket.mjs';
import { loadSdk } from './sdk.mjs';

const RECORDED = new Set(['connected', 'disconnected', 'timeout', 'ended']);

export function createViewers(progress) {
  let clients = [];
  /** [streamerId, reason, since, arrival wallNow(), arrival Date.now(), viewer's pod] */
  let events = [];
  const counts = { open: 0, events: 0, errors: 0 };
  progress.viewers = counts;

  function record(streamerId, reason, since, pod) {
    events.push([streamerId, reason, since, wallNow(), Date.now(), pod]);
    counts.events++;
  }

  return {
    /** `viewers`: [{ url, pod, follows: [streamerId] }]. SDK clients for the service. */
    async openService({ viewers, ratePerSec }) {
      const { ViewerClient } = await loadSdk();
      clients = await paced(viewers, ratePerSec, async ({ url, pod, follows }) => {
        const client = new ViewerClient({ url });
        client.on('error', () => counts.errors++);
        client.on('change', (state, previous, reason) => {
          if (previous !== undefined && RECORDED.has(reason)) record(state.streamerId, reason, state.since, pod);
        });
        await client.watch(follows);
        counts.open++;
        return client;
      });
      return { open: clients.length };
    },
    /** The same viewers on the broadcast baseline: plain sockets joining the streamers' rooms. */
    async openBaseline({ viewers, ratePerSec }) {
      clients = await paced(viewers, ratePerSec, async ({ url, pod, follows }) => {
        const socket = rawSocket(url, '/viewer');
        await once(socket, 'connect');
        socket.on('presence', (payload) => record(payload.streamerId, payload.reason, payload.since, pod));
        await socket.timeout(30_000).emitWithAck('join', { rooms: follows.map((id) => `streamer:${id}`) });
        counts.open++;
        return socket;
      });
      return { open: clients.length };
    },
    /** Hands over (and forgets) the events recorded so far. */
    collect() {
      const out = events;
      events = [];
      return { events: out };
    },
    close() {
      for (const client of clients) (client.close ?? client.disconnect).call(client);
      clients = [];
      counts.open = 0;
      return { closed: true };
    },
  };
}
