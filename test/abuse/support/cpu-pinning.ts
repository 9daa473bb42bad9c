import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';

// The abuse suite measures whether a pod under attack still answers a control client in time. On a
// machine with two or more CPUs the service side (the pod, and its Redis) gets CPU 0, and the clients
// (the attacker in the Jest process, the control client) the others: an attacker that burns its own
// CPU then shows up only as the load it puts on the service, which is what the test is about.
// The suite runs after the rest of `npm test`, alone (scripts/test.mjs), so nothing else competes.

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((path) => existsSync(path));
// The machine's CPUs, not availableParallelism(), which follows this process's own affinity: once a
// test file has pinned the Jest process to one CPU, the next would see only that one.
const CPU_COUNT = cpus().length;

/** Whether pinning applies here: taskset (util-linux) is present and there are at least two CPUs. */
export const CAN_PIN = TASKSET !== undefined && CPU_COUNT >= 2;

export const POD_CPUS = '0';
/** The one CPU the pod runs on when pinned, for measuring what else ran there; undefined when not pinned. */
export const POD_CPU: number | undefined = CAN_PIN && /^\d+$/.test(POD_CPUS) ? Number(POD_CPUS) : undefined;
export const CLIENT_CPUS = `1-${Math.max(1, CPU_COUNT - 1)}`;

/** Pins every thread of `pid` to `cpus` (a taskset list such as '0' or '1-3'); a no-op when {@link CAN_PIN} is false. */
export function pin(pid: number, cpus: string): void {
  if (!CAN_PIN) return;
  execFileSync(TASKSET!, ['--all-tasks', '--pid', '--cpu-list', cpus, String(pid)], { stdio: 'ignore' });
}

/** One line for the test output saying how the measurement was set up. */
export function pinningNote(): string {
  return CAN_PIN
    ? `pod (and Redis) pinned to CPU ${POD_CPUS}; attacker and control client to CPU ${CLIENT_CPUS}`
    : `not pinned (${TASKSET === undefined ? 'no taskset: apt-get install util-linux' : 'one CPU'}): pod and clients share the CPU`;
}
