// The baselines the service is measured against, run as a process of its own (`node bench/baseline-server.mjs`).
// They are what the service would be with nothing of its own: the same Socket.IO and ioredis versions,
// the same server options and Redis client limits, and nothing else.
//
// BASELINE_MODE=heartbeat  `/streamer`: a connect and each `heartbeat` do one `SET <key> 1 PX <ttl>` and
//                          the heartbeat is acked with the service's ack shape. The connect then emits
//                          `session`, as the service does, so a client knows the write is done.
//                          Without REDIS_URL, the lease is a deadline in a Map instead (swept each
//                          second): the baseline of the service's embedded mode.
// BASELINE_MODE=broadcast  `/viewer` with `createShardedAdapter` in "dynamic" mode, as the service uses:
//                          `join` { rooms } joins and acks once the room channels are subscribed; `fire`
//                          { room, payload } does one `io.of('/viewer').to(room).emit('presence', payload)`.
// Env: PORT, HOST, REDIS_URL, PRESENCE_TTL_MS (110000), HEARTBEAT_INTERVAL_MS (50000),
// LB_IDLE_TIMEOUT_MS (60000; pings derived as the service derives them).
// HTTP: GET /readyz, GET /stats ({ deliveries, adapterMessages, connections, memory }).
import { createServer } from 'node:http';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

const env = process.env;
const mode = env.BASELINE_MODE ?? 'heartbeat';
const port = Number(env.PORT ?? 0);
const host = env.HOST ?? '127.0.0.1';
const ttlMs = Number(env.PRESENCE_TTL_MS ?? 110_000);
const intervalMs = Number(env.HEARTBEAT_INTERVAL_MS ?? 50_000);
const lbMs = Number(env.LB_IDLE_TIMEOUT_MS ?? 60_000);
if (!env.REDIS_URL && mode !== 'heartbeat') throw new Error(`baseline-server: REDIS_URL is required in ${mode} mode`);

// The service's Redis client limits (src/redis/redis-connections.ts) and Socket.IO options
// (src/presence/transport/presence-io.adapter.ts).
const bounded = { commandTimeout: 1_000, enableOfflineQueue: false, maxRetriesPerRequest: 1 };
const command = env.REDIS_URL ? new Redis(env.REDIS_URL, { ...bounded, connectionName: 'baseline-command' }) : null;
command?.on('error', (error) => console.error('redis:', error.message));

/** The lease store: `SET PX` in Redis, or a deadline in a Map (with no Redis). */
const leases = command !== null ? { renew: (key) => command.set(key, '1', 'PX', ttlMs) } : memoryLeases();
function memoryLeases() {
  const deadlines = new Map();
  setInterval(() => {
    const now = Date.now();
    for (const [key, deadline] of deadlines) if (deadline <= now) deadlines.delete(key);
  }, 1_000).unref();
  return {
    renew: async (key) => {
      deadlines.set(key, Date.now() + ttlMs);
      return 'OK';
    },
  };
}

const counters = { deliveries: 0, adapterMessages: 0, connections: 0, heartbeats: 0 };
const http = createServer((request, response) => {
  if (request.url === '/readyz' || request.url === '/healthz') {
    const ok = command === null || command.status === 'ready';
    response.writeHead(ok ? 200 : 503).end(ok ? 'ok' : 'not ready');
  } else if (request.url === '/stats') {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ mode, ...counters, memory: process.memoryUsage() }));
  } else {
    response.writeHead(404).end();
  }
});

const options = {
  maxHttpBufferSize: 64 * 1024,
  pingInterval: Math.min(25_000, Math.floor((lbMs * 5) / 12)),
  pingTimeout: Math.min(20_000, Math.floor(lbMs / 3)),
  cors: { origin: true },
};

let subscriber = null;
if (mode === 'broadcast') {
  const publisher = new Redis(env.REDIS_URL, { ...bounded, connectionName: 'baseline-publish' });
  subscriber = new Redis(env.REDIS_URL, { connectionName: 'baseline-subscribe', enableOfflineQueue: true, maxRetriesPerRequest: null });
  for (const client of [publisher, subscriber]) client.on('error', (error) => console.error('redis:', error.message));
  options.adapter = createShardedAdapter(publisher, subscriber, { subscriptionMode: 'dynamic' });
}
const io = new Server(http, options);

if (mode === 'heartbeat') {
  io.of('/streamer').on('connection', async (socket) => {
    counters.connections++;
    socket.on('disconnect', () => counters.connections--);
    const key = `baseline:${socket.id}`;
    // The connect counts as the first heartbeat, as in the service.
    await leases.renew(key).catch(() => {});
    socket.emit('session', { streamerId: socket.id, heartbeatIntervalMs: intervalMs, presenceTtlMs: ttlMs, serverTime: Date.now() });
    socket.on('heartbeat', async (_payload, ack) => {
      counters.heartbeats++;
      try {
        await leases.renew(key);
        if (typeof ack === 'function') ack({ ok: true, serverTime: Date.now(), nextHeartbeatMs: intervalMs });
      } catch (error) {
        if (typeof ack === 'function') ack({ ok: false, error: { code: 'unavailable', message: String(error) } });
      }
    });
  });
} else if (mode === 'broadcast') {
  const viewers = io.of('/viewer');
  // Counted as the service counts them (src/presence/transport/delivery-metrics.ts).
  const adapter = viewers.adapter;
  const onMessage = adapter.onMessage;
  adapter.onMessage = function countedOnMessage(...args) {
    counters.adapterMessages++;
    return onMessage.apply(this, args);
  };
  viewers.on('connection', (socket) => {
    counters.connections++;
    socket.on('disconnect', () => counters.connections--);
    socket.onAnyOutgoing((event) => {
      if (event === 'presence') counters.deliveries++;
    });
    socket.on('join', async ({ rooms }, ack) => {
      socket.join(rooms);
      // As the service does before it answers a subscribe: the room channels are subscribed by now.
      await subscriber.ping().catch(() => {});
      ack({ ok: true });
    });
    socket.on('fire', ({ room, payload }, ack) => {
      viewers.to(room).emit('presence', payload);
      if (typeof ack === 'function') ack({ ok: true });
    });
  });
} else {
  throw new Error(`baseline-server: unknown BASELINE_MODE ${mode}`);
}

http.listen(port, host, () => console.log(`baseline ${mode} listening on http://${host}:${http.address().port}`));

function shutdown() {
  io.close();
  command?.disconnect();
  process.exit(0);
}
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
