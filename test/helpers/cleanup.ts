// One registry per test file (Jest gives each file its own module instances) of everything a helper
// started: processes, sockets, servers. A test that fails half-way still gets them all stopped.
//
// The last line of defence is not here: every child is spawned under `setpriv --pdeathsig SIGKILL`
// (see spawn.ts), so the kernel kills it even if the Jest worker itself dies. Jest hands test files
// a copy of `process` whose 'exit' event never fires, so the exit hook below only serves helpers
// used outside Jest (scripts, a REPL).

type Cleanup = () => unknown | Promise<unknown>;

// One hung cleanup (a server waiting for a half-open socket) must not keep the others from running.
const CLEANUP_TIMEOUT_MS = 10_000;

const cleanups = new Set<Cleanup>();
const exitHooks = new Set<() => void>();

/**
 * Registers `fn` to run at the next {@link stopAllSpawned}. Returns a function that unregisters it
 * (a helper calls it once it has stopped the resource itself).
 */
export function registerCleanup(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

/**
 * Registers a synchronous last-resort kill (e.g. SIGKILL of a child) for when the Node process exits
 * without cleaning up. Returns a function that unregisters it.
 */
export function registerExitKill(fn: () => void): () => void {
  exitHooks.add(fn);
  return () => {
    exitHooks.delete(fn);
  };
}

/**
 * Runs every registered cleanup, newest first (clients before the app before Redis), and waits for
 * all of them. Errors are collected and thrown together after everything has been attempted.
 */
export async function stopAllSpawned(): Promise<void> {
  const errors: unknown[] = [];
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`a cleanup took over ${CLEANUP_TIMEOUT_MS} ms`)), CLEANUP_TIMEOUT_MS);
    });
    try {
      await Promise.race([fn(), timedOut]);
    } catch (err) {
      errors.push(err);
    } finally {
      clearTimeout(timer);
    }
  }
  if (errors.length > 0) {
    throw new AggregateError(errors, `stopAllSpawned: ${errors.length} cleanup(s) failed`);
  }
}

/**
 * Call once at the top of a test file: stops everything the helpers started after all tests of the
 * file (`'all'`, the default) or after each test (`'each'`).
 */
export function useCleanup(when: 'all' | 'each' = 'all'): void {
  if (when === 'each') afterEach(stopAllSpawned, 60_000);
  else afterAll(stopAllSpawned, 60_000);
}

process.once('exit', () => {
  for (const kill of exitHooks) {
    try {
      kill();
    } catch {
      // exiting anyway
    }
  }
});
