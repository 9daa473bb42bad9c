// The reconnect storm's clients: SDK viewers and streamers given several pod URLs (the SDK moves to the
// next one when a connection is lost), which record when they are back: a viewer when it has
// resubscribed (`synced`), a streamer when it has a new session. Viewers also count the offline events
// they see (a streamer that reconnected within its TTL must never be reported offline). For the bare
// baseline, plain Socket.IO connections opened all at once (the accept rate of a bare server).
import { once, rawSocket } from './raw-socket.mjs';
import { paced } from './pace.mjs';
import { loadSdk } from './sdk.mjs';
import { signToken } from './tokens.mjs';

export function createStorm(progress) {
  let viewers = [];
  let streamers = [];
  let raw = [];
  const counts = { viewers: 0, streamers: 0, offline: 0, raw: 0, errors: 0 };
  progress.storm = counts;

  return {
    /** `viewers`: [{ urls, follows }]; `streamers`: [{ id, urls }]. Resolves once every one is in. */
    async open({ viewers: viewerPlan, streamers: streamerPlan, ratePerSec, secret }) {
      const { ViewerClient, StreamerClient } = await loadSdk();
      streamers = await paced(streamerPlan, ratePerSec, ({ id, urls }) => {
        const client = new StreamerClient({ urls, token: signToken(id, 'streamer', secret) });
        const entry = { client, sessionAt: 0 };
        client.on('error', () => counts.errors++);
        return new Promise((resolve) => {
          client.on('session', () => {
            if (entry.sessionAt === 0) counts.streamers++;
            entry.sessionAt = Date.now();
            resolve(entry);
          });
        });
      });
      viewers = await paced(viewerPlan, ratePerSec, async ({ urls, follows }) => {
        const client = new ViewerClient({ urls });
        const entry = { client, syncedAt: 0 };
        client.on('error', () => counts.errors++);
        client.on('synced', () => (entry.syncedAt = Date.now()));
        client.on('change', (state, previous) => {
          if (previous !== undefined && previous.status === 'online' && state.status === 'offline') counts.offline++;
        });
        await client.watch(follows);
        entry.syncedAt = Date.now();
        counts.viewers++;
        return entry;
      });
      return { viewers: viewers.length, streamers: streamers.length };
    },
    /** When each client was last back (ms, Date.now), and the offline events seen so far. */
    report() {
      return { viewers: viewers.map((v) => v.syncedAt), streamers: streamers.map((s) => s.sessionAt), offline: counts.offline };
    },
    close() {
      for (const { client } of [...viewers, ...streamers]) client.close();
      viewers = [];
      streamers = [];
      for (const socket of raw) socket.disconnect();
      raw = [];
      return { closed: true };
    },
    /** Bare baseline: `count` plain connections to `urls` (round-robin), all started at once; resolves with when each connected. */
    async burst({ urls, count }) {
      const started = Date.now();
      const connectedAt = await Promise.all(Array.from({ length: count }, async (_, i) => {
        const socket = rawSocket(urls[i % urls.length], '/viewer');
        raw.push(socket);
        await once(socket, 'connect');
        counts.raw++;
        return Date.now();
      }));
      return { started, connectedAt };
    },
  };
}
