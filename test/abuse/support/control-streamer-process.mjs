// The control client of the abuse suite, in a process of its own so that an attacker busy in the test
// process cannot delay its timers or its reading of acks: a stock socket.io-client streamer that
// heartbeats every CONTROL_EVERY_MS and prints one JSON line per heartbeat with the ack's round trip.
import { io } from 'socket.io-client';

const { CONTROL_URL, CONTROL_TOKEN, CONTROL_ADDRESS, CONTROL_EVERY_MS = '250' } = process.env;
const print = (record) => process.stdout.write(`${JSON.stringify(record)}\n`);

const socket = io(`${CONTROL_URL}/streamer`, {
  auth: { token: CONTROL_TOKEN },
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
  print({ ready: true });
  setInterval(async () => {
    const sentAt = performance.now();
    try {
      const ack = await socket.timeout(2_000).emitWithAck('heartbeat');
      print(ack.ok ? { rttMs: performance.now() - sentAt } : { failed: ack.error?.code ?? 'refused' });
    } catch {
      print({ failed: 'no ack within 2 s' });
    }
  }, Number(CONTROL_EVERY_MS));
});
