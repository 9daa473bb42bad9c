// The control clients of the abuse suite, in a process of their own so that an attacker busy in the
// test process cannot delay their timers or their reading of acks: stock socket.io-client streamers,
// one per token in CONTROL_TOKENS, each heartbeating every CONTROL_EVERY_MS (staggered), printing one
// JSON line per heartbeat with the ack's round trip. Several of them give a percentile enough samples
// for a few seconds of attack.
import { io } from 'socket.io-client';

const { CONTROL_URL, CONTROL_TOKENS, CONTROL_ADDRESS, CONTROL_EVERY_MS = '125' } = process.env;
const everyMs = Number(CONTROL_EVERY_MS);
const tokens = CONTROL_TOKENS.split(',');
const print = (record) => process.stdout.write(`${JSON.stringify(record)}\n`);

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
        try {
          const ack = await socket.timeout(2_000).emitWithAck('heartbeat');
          print(ack.ok ? { rttMs: performance.now() - sentAt } : { failed: ack.error?.code ?? 'refused' });
        } catch {
          print({ failed: 'no ack within 2 s' });
        }
      }, everyMs);
    }, (everyMs / tokens.length) * i);
  });
});
