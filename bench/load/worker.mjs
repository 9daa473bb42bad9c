// A load-generator process, started by bench/processes.mjs with an IPC channel. It runs the commands
// the orchestrator sends ({ id, cmd: 'group.method', args }) and answers { id, ok, result | error };
// every second it sends its counters ({ type: 'progress' }) for the progress line.
import { createHeartbeatLoop } from './heartbeat-loop.mjs';
import { createIdle } from './idle.mjs';
import { createStorm } from './storm.mjs';
import { createStreamers } from './streamers.mjs';
import { createViewers } from './viewers.mjs';

const progress = {};
const groups = {
  heartbeat: createHeartbeatLoop(progress),
  idle: createIdle(progress),
  viewers: createViewers(progress),
  streamers: createStreamers(progress),
  storm: createStorm(progress),
};

process.on('message', async ({ id, cmd, args }) => {
  const [group, method] = cmd.split('.');
  try {
    const handler = groups[group]?.[method];
    if (typeof handler !== 'function') throw new Error(`unknown command ${cmd}`);
    const result = await handler(args);
    process.send({ id, ok: true, result });
  } catch (error) {
    process.send({ id, ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) });
  }
});

setInterval(() => process.send?.({ type: 'progress', progress }), 1_000).unref();
// The orchestrator going away closes the channel: nothing left to do.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
// A socket error in a generator must not take the whole run down; it is counted where it happens.
process.on('unhandledRejection', (error) => console.error('unhandled rejection:', error));
