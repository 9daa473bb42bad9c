#!/usr/bin/env node
// Makes sure the programs the test suites spawn are installed: real redis-server, nginx, chromium and
// faketime, which npm cannot provide. Run by `npm test` (pretest). As root it installs what is missing
// with apt-get; otherwise it prints the exact command to run and exits 1, so a test never passes
// silently for lack of a binary. Fast when everything is present: no apt-get update then.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnSync } from 'node:child_process';

/** Each binary the tests need, with the Debian package that ships it. */
const NEEDED = [
  { bin: 'redis-server', pkg: 'redis-server' },
  { bin: 'redis-cli', pkg: 'redis-tools' },
  { bin: 'nginx', pkg: 'nginx-light' },
  { bin: 'chromium', pkg: 'chromium' },
  { bin: 'faketime', pkg: 'faketime' },
];

// nginx lives in /usr/sbin, which is often not on PATH for non-login shells.
const EXTRA_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/bin', '/usr/local/sbin'];

function findBinary(name) {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return null;
}

function missingOnes() {
  return NEEDED.filter(({ bin }) => findBinary(bin) === null);
}

function run(cmd, args) {
  const result = spawnSync(cmd, args, {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (result.status !== 0) {
    throw new Error(`'${cmd} ${args.join(' ')}' failed with exit code ${result.status ?? result.signal}`);
  }
}

const missing = missingOnes();
if (missing.length === 0) {
  console.log(`ensure-test-deps: found ${NEEDED.map((n) => n.bin).join(', ')}`);
  process.exit(0);
}

const packages = [...new Set(missing.map((m) => m.pkg))];
const installCommand =
  'apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ' +
  packages.join(' ');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

if (!isRoot) {
  console.error(
    `ensure-test-deps: missing ${missing.map((m) => m.bin).join(', ')}; the tests need them. ` +
      `Install them (as root) with:\n  ${installCommand}`,
  );
  process.exit(1);
}

try {
  // Another apt run (a colleague's, unattended upgrades) may hold the lock: wait for it a while.
  const lockWait = ['-o', 'DPkg::Lock::Timeout=300'];
  run('apt-get', [...lockWait, 'update']);
  run('apt-get', [...lockWait, 'install', '-y', '--no-install-recommends', ...packages]);
} catch (err) {
  console.error(`ensure-test-deps: ${err.message}. Install them by hand with:\n  ${installCommand}`);
  process.exit(1);
}

const stillMissing = missingOnes();
if (stillMissing.length > 0) {
  console.error(
    `ensure-test-deps: installed ${packages.join(' ')} but still missing ${stillMissing
      .map((m) => m.bin)
      .join(', ')}`,
  );
  process.exit(1);
}
console.log(
  `ensure-test-deps: installed ${packages.join(', ')}; found ${NEEDED.map((n) => n.bin).join(', ')}`,
);
