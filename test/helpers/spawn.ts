import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { registerCleanup, registerExitKill } from './cleanup.js';

// setpriv is in util-linux (essential on Debian). With it the kernel SIGKILLs the child when the
// spawning Node process dies, however it dies; it execs, so the child's pid is the program's own.
export const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

/** How a child process ended. */
export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Spawns `command` (an absolute path is best) so that it can never outlive the test: it is killed by
 * the file's cleanup ({@link ./cleanup.ts}) and, through `setpriv --pdeathsig SIGKILL`, by the kernel
 * if the test process dies.
 */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = SETPRIV
    ? spawn(SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args], options)
    : spawn(command, args, options);
  const exited = waitForExit(child);
  const unregisterExit = registerExitKill(() => child.kill('SIGKILL'));
  const unregister = registerCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL'); // acts even on a SIGSTOPped process
    }
    await exited;
  });
  void exited.then(() => {
    unregister();
    unregisterExit();
  });
  return child;
}

/** Resolves once `child` has exited (at once if it already has); never rejects. */
export function waitForExit(child: ChildProcess): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', () => resolve({ code: null, signal: null }));
  });
}

/**
 * Sends `signal`, waits up to `graceMs` for the exit, then SIGKILLs and waits again.
 * Returns how the process ended.
 */
export async function terminate(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 5_000,
): Promise<ExitStatus> {
  const exited = waitForExit(child);
  if (child.exitCode !== null || child.signalCode !== null) return exited;
  child.kill('SIGCONT'); // a SIGSTOPped process would leave SIGTERM pending until continued
  child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const first = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (first !== 'timeout') return first;
  child.kill('SIGKILL');
  return exited;
}
