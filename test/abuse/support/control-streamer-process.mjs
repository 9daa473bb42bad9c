// The control clients of the abuse suite, in a process of their own so that an attacker busy in the
// test process cannot delay their timers or their reading of acks: stock socket.io-client streamers,
// one per token in CONTROL_TOKENS, each heartbeating every CONTROL_EVERY_MS (staggered), printing one
// JSON line per heartbeat with the ack's round trip (and four a second with its own event-loop delay).
// Several of them give a percentile enough samples for a few seconds of attack.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { io } from 'socket.io-client';

const { CONTROL_URL, CONTROL_TOKENS, CONTROL_ADDRESS, CONTROL_EVERY_MS = '125' } = process.env;
const everyMs = Number(CONTROL_EVERY_MS);
const tokens = CONTROL_TOKENS.split(',');
const print = (record) => process.stdout.write(`${JSON.stringify(record)}\n`);

// This process's own event-loop delay (less its 10 ms sampling period), four times a second so the
// attack's last moments are in the summary: a round trip it measured late because it was not scheduled
// (it shares the clients' CPU with the attacker) is then told from a pod that answered late.
const LOOP_SAMPLING_MS = 10;
const loop = monitorEventLoopDelay({ resolution: LOOP_SAMPLING_MS });
loop.enable();
setInterval(() => {
  print({ loopDelayMaxMs: Math.max(0, loop.max / 1e6 - LOOP_SAMPLING_MS) });
  loop.reset();
}, 250).unref();

let connected = 0;
tokens.forEach((token, i) => {
  const socket = io(`${CONTROL_URL}/streamer`, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    extraHeaders: { 'X-Forwarded-For': CONTROL_ADDRESS },
  });
  socket.on('connect_error', (err) => {
    print({ connectError: err.message });
    process.exit(1);
  });
  socket.on('disconnect', (reason) => print({ disconnect: reason }));
  socket.once('connect', () => {
    connected += 1;
    if (connected === tokens.length) print({ ready: true });
    setTimeout(() => {
      setInterval(async () => {
        const sentAt = performance.now();
        const sentWall = Date.now();
        try {
          const ack = await socket.timeout(2_000).emitWithAck('heartbeat');
          // serverTime is the store's clock as it renewed the lease (Redis TIME, or the pod's in embedded
          // mode), on this same machine: how much of the round trip came before the store ran it.
          print(ack.ok ? { rttMs: performance.now() - sentAt, toStoreMs: ack.serverTime - sentWall, sentWall } : { failed: ack.error?.code ?? 'refused' });
        } catch {
          print({ failed: 'no ack within 2 s' });
        }
      }, everyMs);
    }, (everyMs / tokens.length) * i);
  });
});
