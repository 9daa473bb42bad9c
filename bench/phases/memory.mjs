// Idle memory per connection: RSS (/proc) and heap after a full GC (through the inspector, the same
// way for both servers), before and after `count` idle streamer connections, divided by `count`; and
// Redis `used_memory` over the same span, per connection (a streamer online, or one SET … PX key).
// Then what the idle connections cost in CPU (Socket.IO's pings, timers): the server's CPU over
// `cpuSeconds` with them open, less its CPU over as long before they opened (its own background).
import { gcAndMemoryUsage } from '../inspector.mjs';
import { log, ticker } from '../progress.mjs';
import { cpuMeter, redisUsedMemory, round, rssBytes } from '../probes.mjs';
import { sleep, withTimeout } from '../load/clock.mjs';

async function snapshot(server, redis) {
  const usage = await gcAndMemoryUsage(server);
  return { rss: rssBytes(server.pid), heapUsed: usage.heapUsed, external: usage.external, redisUsedMemory: await redisUsedMemory(redis) };
}

/** `server`: { name, pid, url, inspectPort }; `worker`: a load worker. `end`: send `end` before closing (service). */
/** Cores `server` used over `seconds`. */
async function coresOver(server, seconds) {
  const meter = cpuMeter([server]);
  meter.start();
  await sleep(seconds * 1000);
  return meter.read()[server.name].cores;
}

export async function idleMemory({ server, redis, worker, count, secret, end, cpuSeconds = 0 }) {
  const idPrefix = `${server.name}-idle-`;
  // Warm-up: the first connections pay one-time costs (code compiled, pools grown) that are not per connection.
  const warmup = Math.min(200, Math.max(10, Math.floor(count / 10)));
  await worker.call('idle.open', { url: server.url, count: warmup, idPrefix: `${idPrefix}warm-`, secret }, 120_000);
  await worker.call('idle.close', { end }, 120_000);
  await sleep(1_000);

  const before = await snapshot(server, redis);
  const backgroundCores = cpuSeconds > 0 ? await coresOver(server, cpuSeconds) : null;
  log(`  ${server.name}: opening ${count} idle connections`);
  const stopTicker = ticker(() => `${server.name}: ${worker.progress.idle?.open ?? 0}/${count} idle connections open`);
  try {
    await withTimeout(worker.call('idle.open', { url: server.url, count, idPrefix, secret }, 300_000), 300_000, 'idle.open');
  } finally {
    stopTicker();
  }
  await sleep(2_000);
  const after = await snapshot(server, redis);
  const idleCores = cpuSeconds > 0 ? await coresOver(server, cpuSeconds) : null;
  await worker.call('idle.close', { end }, 300_000);
  // µs of CPU per connection per second it stays open.
  const cpuPerConnection = idleCores === null ? null : round(((idleCores - backgroundCores) * 1e6) / count, 3);

  const per = (key) => round((after[key] - before[key]) / count, 0);
  log(`  ${server.name}: ${per('rss')} B RSS, ${per('heapUsed')} B heap per idle connection; Redis ${per('redisUsedMemory')} B per connection` +
    (cpuPerConnection === null ? '' : `; CPU ${cpuPerConnection} µs per connection-second (${round(backgroundCores, 3)} → ${round(idleCores, 3)} cores)`));
  return {
    connections: count,
    before,
    after,
    rssPerConnection: per('rss'),
    heapPerConnection: per('heapUsed'),
    externalPerConnection: per('external'),
    redisBytesPerConnection: per('redisUsedMemory'),
    cpu: idleCores === null ? null : { seconds: cpuSeconds, backgroundCores, idleCores, microsPerConnectionSecond: cpuPerConnection },
  };
}
