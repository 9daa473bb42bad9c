import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { requireBinary } from './binaries.js';

/**
 * Environment variables that run a program on a shifted wall clock through libfaketime, e.g. spec
 * `'-30s'` (30 s behind) or `'+2m'`. Only the wall clock moves (`Date.now()`); the monotonic clock
 * that Node's timers use stays real, so intervals and timeouts keep their length.
 *
 * Why not `faketime -f <spec> node ...`: the Debian `faketime` program forks and waits and does not
 * pass signals on, so a SIGTERM sent to it would never reach the app. Preloading the library that
 * it would preload keeps the app's own pid. Needs the Debian package `faketime`.
 */
export function faketimeEnv(spec: string): Record<string, string> {
  requireBinary('faketime', 'faketime');
  return {
    LD_PRELOAD: libfaketimePath(),
    FAKETIME: spec,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}

/** Absolute path of libfaketimeMT (the thread-safe variant: Node is multi-threaded). */
function libfaketimePath(): string {
  const roots = ['/usr/lib', '/usr/local/lib'];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    const dirs = [join(root, 'faketime'), ...readdirSync(root).map((d) => join(root, d, 'faketime'))];
    for (const dir of dirs) {
      const lib = join(dir, 'libfaketimeMT.so.1');
      if (existsSync(lib)) return lib;
    }
  }
  throw new Error(
    "libfaketimeMT.so.1 not found: install it with 'apt-get install -y faketime' (npm test does this when run as root)",
  );
}
