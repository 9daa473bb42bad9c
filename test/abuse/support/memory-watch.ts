import { readFileSync } from 'node:fs';
import { parsePrometheus, valueOf } from '../../helpers/prometheus.js';

/** The peaks a {@link MemoryWatch} saw, in MB (10^6 bytes). */
export interface MemoryPeaks {
  readonly rssMb: number;
  readonly heapUsedMb: number;
}

/**
 * Samples a pod's memory while an attack runs: its resident set from /proc every 100 ms (outside
 * the pod, so it is read even while the pod's event loop is stuck) and its V8 heap in use from
 * /metrics every 500 ms. Keeps the peaks.
 */
export class MemoryWatch {
  private peakRss = 0;
  private peakHeap = 0;
  private readonly rssTimer: NodeJS.Timeout;
  private readonly heapTimer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    private readonly url: string,
  ) {
    this.sampleRss();
    this.rssTimer = setInterval(() => this.sampleRss(), 100);
    this.heapTimer = setInterval(() => void this.sampleHeap(), 500);
  }

  private sampleRss(): void {
    try {
      const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))?.[1] ?? 0);
      this.peakRss = Math.max(this.peakRss, kb * 1024);
    } catch {
      // the pod has exited: the test's liveness check says so
    }
  }

  private async sampleHeap(): Promise<void> {
    try {
      const text = await (await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
      this.peakHeap = Math.max(this.peakHeap, valueOf(parsePrometheus(text), 'nodejs_heap_size_used_bytes'));
    } catch {
      // a late scrape is no sample; the RSS still is
    }
  }

  /** Stops sampling (after one last heap sample) and returns the peaks. */
  async stop(): Promise<MemoryPeaks> {
    clearInterval(this.rssTimer);
    clearInterval(this.heapTimer);
    this.sampleRss();
    await this.sampleHeap();
    return { rssMb: Math.round(this.peakRss / 1e6), heapUsedMb: Math.round(this.peakHeap / 1e6) };
  }
}

/** A process's resident set now, in MB. */
export function rssMbNow(pid: number): number {
  return Math.round((Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024) / 1e6);
}
