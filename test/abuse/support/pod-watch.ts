import { cpuBusySeconds, processCpuSeconds, rssBytes } from '../../helpers/proc-stat.js';
import { parsePrometheus, valueOf } from '../../helpers/prometheus.js';

/** What a {@link PodWatch} saw: memory peaks in MB (10^6 bytes), the longest stall, CPU in cores. */
export interface PodWatchReport {
  readonly rssMb: number;
  readonly heapUsedMb: number;
  /**
   * The pod's longest event-loop delay (prom-client's, reset at each scrape, less its 10 ms sampling
   * period), so that a slow ack can be told from a pod that stalled and from a control client that was
   * not scheduled.
   */
  readonly loopDelayMaxMs: number;
  /**
   * The pod's CPU (when pinned) used by anything but the pod: its Redis when it has one (pinned there
   * too) and anything else on the machine that ran there, which no test means to happen.
   */
  readonly othersOnPodCpu?: number;
  /** The pod's own CPU time over the watch, in cores: how close the attack brought it to saturation. */
  readonly podCores?: number;
}

/** prom-client's event-loop sampling period: each delay it records includes this. */
const LOOP_SAMPLING_MS = 10;

/**
 * Samples a pod while an attack runs: its resident set from /proc every 100 ms (outside the pod, so it
 * is read even while the pod's event loop is stuck), and its V8 heap in use and event-loop delay from
 * /metrics every 500 ms, and the CPU used on the pod's own CPU. Keeps the peaks.
 */
export class PodWatch {
  private peakRss = 0;
  private peakHeap = 0;
  private peakLoopDelay = 0;
  private readonly rssTimer: NodeJS.Timeout;
  private readonly metricsTimer: NodeJS.Timeout;
  private readonly cpuAtStart: CpuTimes | undefined;

  private constructor(
    private readonly pid: number,
    private readonly url: string,
    private readonly podCpu: number | undefined,
  ) {
    this.cpuAtStart = this.cpuTimes();
    this.sampleRss();
    this.rssTimer = setInterval(() => this.sampleRss(), 100);
    this.metricsTimer = setInterval(() => void this.sampleMetrics(), 500);
  }

  /** Starts watching, after one scrape that resets the pod's event-loop histogram (it covers the time before). */
  static async start(pid: number, url: string, podCpu?: number): Promise<PodWatch> {
    await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2_000) }).then((response) => response.text()).catch(() => undefined);
    return new PodWatch(pid, url, podCpu);
  }

  private sampleRss(): void {
    try {
      this.peakRss = Math.max(this.peakRss, rssBytes(this.pid));
    } catch {
      // the pod has exited: the test's liveness check says so
    }
  }

  private async sampleMetrics(): Promise<void> {
    try {
      // A scrape given up on would still reset the pod's histogram once answered, losing its longest stall.
      const text = await (await fetch(`${this.url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
      const samples = parsePrometheus(text);
      this.peakHeap = Math.max(this.peakHeap, valueOf(samples, 'nodejs_heap_size_used_bytes'));
      this.peakLoopDelay = Math.max(this.peakLoopDelay, valueOf(samples, 'nodejs_eventloop_lag_max_seconds'));
    } catch {
      // a late scrape is no sample; the RSS still is
    }
  }

  private cpuTimes(): CpuTimes | undefined {
    if (this.podCpu === undefined) return undefined;
    try {
      return { wall: performance.now() / 1000, cpuBusy: cpuBusySeconds(this.podCpu), pod: processCpuSeconds(this.pid) };
    } catch {
      return undefined;
    }
  }

  /** Stops sampling (after one last scrape) and returns the peaks. */
  async stop(): Promise<PodWatchReport> {
    clearInterval(this.rssTimer);
    clearInterval(this.metricsTimer);
    this.sampleRss();
    await this.sampleMetrics();
    const start = this.cpuAtStart;
    const end = this.cpuTimes();
    const cores = (seconds: number): number => Math.max(0, Math.round((seconds / (end!.wall - start!.wall)) * 100) / 100);
    const shares = start && end ? { othersOnPodCpu: cores(end.cpuBusy - start.cpuBusy - (end.pod - start.pod)), podCores: cores(end.pod - start.pod) } : {};
    return {
      rssMb: Math.round(this.peakRss / 1e6),
      heapUsedMb: Math.round(this.peakHeap / 1e6),
      loopDelayMaxMs: Math.max(0, Math.round(this.peakLoopDelay * 1000 - LOOP_SAMPLING_MS)),
      ...shares,
    };
  }
}

interface CpuTimes {
  readonly wall: number;
  readonly cpuBusy: number;
  readonly pod: number;
}

/** A process's resident set now, in MB. */
export function rssMbNow(pid: number): number {
  return Math.round(rssBytes(pid) / 1e6);
}
