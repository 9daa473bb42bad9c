// The pod's memory while it is fuzzed: RSS from /proc/<pid>/status every 250 ms (cheap, and catches short
// peaks), V8 heap used from /metrics every second (an HTTP request, so rarer, and skipped while one is out).
import { readFileSync } from 'node:fs';

const RSS_EVERY_MS = 250;
const HEAP_EVERY_MS = 1_000;
const HEAP_TIMEOUT_MS = 1_000;

function rssMb(pid) {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) / 1024;
  } catch {
    return null;
  }
}

async function heapUsedMb(port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(HEAP_TIMEOUT_MS) });
    const text = await response.text();
    const bytes = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})?\s+(\S+)/m.exec(text)?.[1];
    return bytes === undefined ? null : Number(bytes) / 2 ** 20;
  } catch {
    return null;
  }
}

/**
 * Samples whichever pod `currentPod()` returns (a restarted one carries on the same peaks).
 * Returns the live figures `{ rssMb, heapUsedMb, lastRssMb, lastHeapMb, heapMisses }` and `stop()`.
 */
export function startMemorySampling(currentPod) {
  const peaks = { rssMb: 0, heapUsedMb: 0, lastRssMb: 0, lastHeapMb: 0, heapMisses: 0 };
  const rssTimer = setInterval(() => {
    const rss = rssMb(currentPod().pid);
    if (rss === null) return;
    peaks.lastRssMb = rss;
    peaks.rssMb = Math.max(peaks.rssMb, rss);
  }, RSS_EVERY_MS);
  let heapBusy = false;
  const heapTimer = setInterval(async () => {
    if (heapBusy) return;
    heapBusy = true;
    const heap = await heapUsedMb(currentPod().port);
    heapBusy = false;
    if (heap === null) {
      peaks.heapMisses += 1;
      return;
    }
    peaks.lastHeapMb = heap;
    peaks.heapUsedMb = Math.max(peaks.heapUsedMb, heap);
  }, HEAP_EVERY_MS);
  peaks.stop = () => {
    clearInterval(rssTimer);
    clearInterval(heapTimer);
  };
  return peaks;
}
