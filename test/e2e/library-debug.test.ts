import { startApp } from '../helpers/app-process.js';
import { useCleanup } from '../helpers/cleanup.js';
import { streamer } from '../helpers/presence-clients.js';

// The pod quiets the libraries' disabled `debug` loggers at start (src/logging/library-debug.ts):
// DEBUG must still turn on the ones it names, and the quieting must come before any library loads.
useCleanup();

test('DEBUG still traces the namespaces it names after the pod quiets the rest', async () => {
  const app = await startApp({ env: { DEBUG: 'socket.io:socket' } });
  const socket = await streamer(app.url, 'debug-traced');
  const from = app.lines.length;
  // `end`, not a heartbeat: heartbeats are handled before Socket.IO's dispatch (event-lane.ts), `end` by it.
  const ack = (await socket.timeout(5_000).emitWithAck('end')) as { ok?: boolean };
  expect(ack.ok).toBe(true);
  await app.waitForLine(/socket\.io:socket dispatching an event \["end",/, 5_000, from);
  await app.waitForLine(/socket\.io:socket sending ack \[\{"ok":true\}\]/, 5_000, from);
  socket.close();
});

test('the libraries are quieted before any of them loads: no copy of `debug` was loaded first', async () => {
  const app = await startApp();
  const socket = await streamer(app.url, 'debug-quiet');
  socket.close();
  expect(app.lines.filter((line) => line.includes('library debug'))).toEqual([]);
});
