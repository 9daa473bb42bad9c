// What a test reads of a process or a CPU from outside it, in /proc (Linux): the same figures whatever
// state the process's own event loop is in.
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second (USER_HZ, `getconf CLK_TCK`): 100 on every Linux Node supports. */
const TICKS_PER_SECOND = 100;

/** A process's CPU time so far (user + system, every thread), in seconds. */
export function processCpuSeconds(pid: number): number {
  // Fields after the command name (which may hold spaces, in parentheses): utime and stime are the 14th and 15th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/**
 * Time spent busy since boot (user, nice, system, irq, softirq, steal), in seconds: of one CPU, or of
 * all of them together (`'all'`, so up to their count a second).
 */
export function cpuBusySeconds(cpu: number | 'all'): number {
  const name = cpu === 'all' ? 'cpu' : `cpu${cpu}`;
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`${name} `));
  if (line === undefined) throw new Error(`no ${name} in /proc/stat`);
  const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user! + nice! + system! + irq! + softirq! + (steal ?? 0)) / TICKS_PER_SECOND;
}

/** A process's resident set now (VmRSS), in bytes; 0 when /proc does not say. */
export function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
}
