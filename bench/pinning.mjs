// CPU pinning for the closed heartbeat loop: the server (and its Redis) on CPU 0, the generators on
// the others, for the measured window only. Unpinned, on a small VM, the scheduler's choices and the
// cost of waking an idle CPU made the same pair of servers swing two-fold from run to run (a round of
// the bare server at 13,700 acks/s, the next run 27,000); pinned, each side has its own CPU, as the
// abuse suite does (test/abuse/support/cpu-pinning.ts).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';

const TASKSET = ['/usr/bin/taskset', '/bin/taskset'].find((path) => existsSync(path));
const CPU_COUNT = cpus().length;
export const CAN_PIN = TASKSET !== undefined && CPU_COUNT >= 2;
const ALL = `0-${CPU_COUNT - 1}`;

function taskset(pid, list) {
  execFileSync(TASKSET, ['--all-tasks', '--pid', '--cpu-list', list, String(pid)], { stdio: 'ignore' });
}

/** Pins `server` pids to CPU 0 and `clients` pids to the rest; returns the undo. A no-op without taskset or a second CPU. */
export function pinLoop({ server, clients }) {
  if (!CAN_PIN) return () => {};
  for (const pid of server) taskset(pid, '0');
  for (const pid of clients) taskset(pid, `1-${CPU_COUNT - 1}`);
  return () => {
    for (const pid of [...server, ...clients]) {
      try {
        taskset(pid, ALL);
      } catch {
        // the process is gone
      }
    }
  };
}

export function pinningNote() {
  return CAN_PIN ? `server (and Redis) pinned to CPU 0, generators to CPU 1-${CPU_COUNT - 1}` : 'not pinned (no taskset, or one CPU)';
}
