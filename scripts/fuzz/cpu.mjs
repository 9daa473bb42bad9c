// CPU over the fuzzing: the pod's share of its core, the fuzzer's own, and the fuzzer's event-loop delay.
// A stalled fuzzer reads slowly, and the pod may rightly cut it: the report says when that happened.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

let clockTicks = null;

/** CPU seconds (user + system) the process has used so far, from /proc/<pid>/stat; null when unreadable. */
function cpuSeconds(pid) {
  try {
    clockTicks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The fields after the command name, which may hold spaces; utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}

/**
 * Starts measuring now, against `pod`. `stop(currentPod)` returns `{ seconds, cpu }`, `cpu` being
 * `{ pod, fuzzer, loopP99Ms, loopMaxMs }` (shares of a core); `pod` is null when the pod was restarted
 * meanwhile, as the new one's figure would cover only part of the time.
 */
export function startCpuMeter(pod) {
  const started = performance.now();
  const podAtStart = cpuSeconds(pod.pid);
  const ownAtStart = process.cpuUsage();
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  return {
    stop(currentPod) {
      const seconds = (performance.now() - started) / 1000;
      const podNow = currentPod === pod && podAtStart !== null ? cpuSeconds(pod.pid) : null;
      const own = process.cpuUsage(ownAtStart);
      loopDelay.disable();
      return {
        seconds,
        cpu: {
          pod: podNow === null ? null : (podNow - podAtStart) / seconds,
          fuzzer: (own.user + own.system) / 1e6 / seconds,
          loopP99Ms: loopDelay.percentile(99) / 1e6,
          loopMaxMs: loopDelay.max / 1e6,
        },
      };
    },
  };
}
