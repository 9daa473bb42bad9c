// Where an idle connection's heap goes: heap snapshots (after GC) before and after `count` idle
// connections, the difference per connection by constructor. Run for the service and the bare server
// when the memory target is missed, so the note can say what the service keeps that Socket.IO does not.
import { heapByConstructor } from '../inspector.mjs';
import { log } from '../progress.mjs';
import { sleep } from '../load/clock.mjs';

export async function heapDiff({ server, worker, count, secret, end, top = 40 }) {
  const idPrefix = `${server.name}-heap-`;
  await worker.call('idle.open', { url: server.url, count: 20, idPrefix: `${idPrefix}warm-`, secret }, 120_000);
  await worker.call('idle.close', { end }, 120_000);
  await sleep(500);
  const before = await heapByConstructor(server);
  await worker.call('idle.open', { url: server.url, count, idPrefix, secret }, 300_000);
  await sleep(1_000);
  const after = await heapByConstructor(server);
  await worker.call('idle.close', { end }, 300_000);
  const rows = [];
  let total = 0;
  for (const [key, { count: n, bytes }] of after) {
    const was = before.get(key) ?? { count: 0, bytes: 0 };
    const bytesPer = (bytes - was.bytes) / count;
    total += bytesPer;
    rows.push({ what: key, bytesPerConnection: Math.round(bytesPer), objectsPerConnection: Math.round(((n - was.count) / count) * 100) / 100 });
  }
  rows.sort((a, b) => b.bytesPerConnection - a.bytesPerConnection);
  log(`  ${server.name}: heap snapshot diff ${Math.round(total)} B per connection; top: ${rows.slice(0, 4).map((r) => `${r.what} ${r.bytesPerConnection} B`).join(', ')}`);
  return { connections: count, bytesPerConnection: Math.round(total), top: rows.slice(0, top) };
}
