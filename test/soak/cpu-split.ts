// Where the machine's CPU goes during a soak, and how late the load generator's own event loop runs: on
// two cores the generator (every streamer and viewer in this process) competes with the pods, nginx and
// Redis, and a generator that runs seconds late sends heartbeats late and dates deliveries late. Its
// counts are then its own lag, not the service's faults (RELIABILITY.md, finding 6).
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import { cpuBusySeconds, processCpuSeconds } from '../helpers/proc-stat.js';
/** The generator's lateness is measured by a timer this often: what its heartbeat timers feel. */
const PROBE_EVERY_MS = 50;

type Group = 'generator' | 'pods' | 'nginx' | 'redis';

/** Which group a process belongs to, by its pid and command line; null for the rest of the machine. */
function groupOf(pid: number, cmdline: string): Group | null {
  if (pid === process.pid) return 'generator';
  // Spawned by full path; nginx renames itself `nginx: master process …`, Redis `…/redis-server <addr>`.
  if (/^(?:\S*\/)?nginx\b/.test(cmdline)) return 'nginx';
  if (/^(?:\S*\/)?redis-server\b/.test(cmdline)) return 'redis';
  if (/\bdist(?:-soak)?\/main\.js\b/.test(cmdline)) return 'pods';
  return null;
}

interface Reading {
  readonly at: number;
  /** CPU seconds so far, per process, with its group. */
  readonly processes: Map<number, { group: Group; seconds: number }>;
  /** Busy seconds of the whole machine (all CPUs), and how many CPUs it has. */
  readonly machineBusy: number;
  readonly cpus: number;
}

function read(): Reading {
  const processes = new Map<number, { group: Group; seconds: number }>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      const group = groupOf(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' '));
      if (group === null) continue;
      processes.set(pid, { group, seconds: processCpuSeconds(pid) });
    } catch {
      // Exited while read.
    }
  }
  return { at: Date.now(), processes, machineBusy: cpuBusySeconds('all'), cpus: cpus().length };
}

/** CPU (1.00 = one core busy) per group and for the whole machine over a window, and how late the generator's timers fired. */
export interface CpuWindow {
  readonly cores: Record<Group, number>;
  readonly machine: number;
  readonly cpus: number;
  /** How late the generator's timers fired in the window, ms. */
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  /** The generator's garbage collection pauses in the window: the longest, and all of them, ms. */
  readonly gcMaxMs: number;
  readonly gcTotalMs: number;
}

/** Measures from now on; each `window()` covers the time since the previous one. */
export class CpuSplit {
  private last = read();
  private lateness: number[] = [];
  private expected = Date.now() + PROBE_EVERY_MS;
  private readonly probe = setInterval(() => {
    const now = Date.now();
    this.lateness.push(Math.max(0, now - this.expected));
    this.expected = now + PROBE_EVERY_MS;
  }, PROBE_EVERY_MS);
  private gcMaxMs = 0;
  private gcTotalMs = 0;
  private readonly gc = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      this.gcMaxMs = Math.max(this.gcMaxMs, entry.duration);
      this.gcTotalMs += entry.duration;
    }
  });

  constructor() {
    // Never what keeps a failed run's process alive.
    this.probe.unref();
    this.gc.observe({ entryTypes: ['gc'] });
  }

  window(): CpuWindow {
    const now = read();
    const seconds = Math.max(0.001, (now.at - this.last.at) / 1000);
    // Per process: one started in the window counts from zero, one that exited in it is left out.
    const cores: Record<Group, number> = { generator: 0, pods: 0, nginx: 0, redis: 0 };
    for (const [pid, { group, seconds: used }] of now.processes) cores[group] += (used - (this.last.processes.get(pid)?.seconds ?? 0)) / seconds;
    const machine = (now.machineBusy - this.last.machineBusy) / seconds;
    const result = {
      cores,
      machine,
      cpus: now.cpus,
      loopDelayP99Ms: percentile(this.lateness, 0.99),
      loopDelayMaxMs: Math.max(0, ...this.lateness),
      gcMaxMs: this.gcMaxMs,
      gcTotalMs: this.gcTotalMs,
    };
    this.last = now;
    this.lateness = [];
    this.gcMaxMs = 0;
    this.gcTotalMs = 0;
    return result;
  }

  stop(): void {
    clearInterval(this.probe);
    this.gc.disconnect();
  }
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** One line: `CPU generator 0.62, pods 0.71, nginx 0.20, redis 0.08 (machine 1.70 of 2); generator timers late p99 45 ms, max 180 ms, GC 900 ms (longest 40 ms)`. */
export function describeWindow(window: CpuWindow): string {
  const { cores } = window;
  return (
    `CPU generator ${cores.generator.toFixed(2)}, pods ${cores.pods.toFixed(2)}, nginx ${cores.nginx.toFixed(2)}, redis ${cores.redis.toFixed(2)} ` +
    `(machine ${window.machine.toFixed(2)} of ${window.cpus}); generator timers late p99 ${Math.round(window.loopDelayP99Ms)} ms, max ${Math.round(window.loopDelayMaxMs)} ms, ` +
    `GC ${Math.round(window.gcTotalMs)} ms (longest ${Math.round(window.gcMaxMs)} ms)`
  );
}
