// A CPU profile of a server under the closed heartbeat loop (V8's sampling profiler through the
// inspector), summarised by origin and top self-time frames; the raw .cpuprofile is saved beside the results.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCpuProfile } from '../inspector.mjs';
import { log } from '../progress.mjs';
import { sleep } from '../load/clock.mjs';
import { summarizeProfile } from '../profile-summary.mjs';

export async function profileHeartbeats({ server, workers, clients, durationMs, secret, end, outFile }) {
  const share = Math.ceil(clients / workers.length);
  await Promise.all(workers.map((worker, i) =>
    worker.call('heartbeat.open', { url: server.url, clients: share, idPrefix: `${server.name}-prof${i}-`, secret }, 120_000)));
  await Promise.all(workers.map((worker) => worker.call('heartbeat.start')));
  await sleep(1_500);
  const marks0 = await Promise.all(workers.map((worker) => worker.call('heartbeat.mark')));
  const profiler = await startCpuProfile(server);
  const t0 = performance.now();
  await sleep(durationMs);
  const profile = await profiler.stop();
  const seconds = (performance.now() - t0) / 1000;
  const marks1 = await Promise.all(workers.map((worker) => worker.call('heartbeat.mark')));
  await Promise.all(workers.map((worker) => worker.call('heartbeat.stop', {}, 30_000)));
  await Promise.all(workers.map((worker) => worker.call('heartbeat.close', { end }, 120_000)));
  writeFileSync(outFile, JSON.stringify(profile));
  const acks = marks1.reduce((s, m) => s + m.acks, 0) - marks0.reduce((s, m) => s + m.acks, 0);
  const summary = { file: outFile, acksPerSecondWhileProfiling: Math.round(acks / seconds), ...summarizeProfile(profile) };
  log(`  ${server.name} profile: ${summary.byOrigin.slice(0, 6).map((o) => `${o.origin} ${o.pctOfBusy}%`).join(', ')}`);
  return summary;
}

export function profilePath(resultsDir, stamp, name) {
  return join(resultsDir, `${stamp}-${name}.cpuprofile`);
}
