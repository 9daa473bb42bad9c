#!/usr/bin/env node
// `npm run soak -- --minutes N [--streamers 2000] [--viewers 10000] [--seed 1] [--topology single|cluster]`: the soak test
// (test/soak/soak.soak.ts), not part of `npm test`. Builds first if needed; writes its table, JSON and
// chart to test-output/soak/.
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildIfStale } from './build-if-stale.mjs';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '5' }, streamers: { type: 'string', default: '2000' }, viewers: { type: 'string', default: '10000' }, seed: { type: 'string', default: '1' }, topology: { type: 'string', default: 'single' } },
});
if (values.topology !== 'single' && values.topology !== 'cluster') {
  process.stderr.write(`soak: --topology must be single or cluster, got ${values.topology}\n`);
  process.exit(2);
}
for (const [name, value] of Object.entries(values)) {
  if (name === 'topology') continue;
  if (!/^\d+$/.test(value) || Number(value) < 1) {
    process.stderr.write(`soak: --${name} must be a whole number of at least 1, got ${value}\n`);
    process.exit(2);
  }
}
buildIfStale('main.js', 'soak');
// The pods run a copy of the build, so a rebuild while a long soak runs does not change the code of the
// pods it restarts. Beside dist/ (one level under the repository), so the same relative paths hold.
const appDir = fileURLToPath(new URL('../dist-soak/', import.meta.url));
rmSync(appDir, { recursive: true, force: true });
cpSync(fileURLToPath(new URL('../dist/', import.meta.url)), appDir, { recursive: true });
const jest = fileURLToPath(new URL('../node_modules/jest/bin/jest.js', import.meta.url));
const run = spawnSync(process.execPath, ['--experimental-vm-modules', '--max-old-space-size=4096', jest, '--runInBand', '--testMatch', '<rootDir>/test/soak/**/*.soak.ts', '--testTimeout', String((Number(values.minutes) + 30) * 60_000)], {
  stdio: 'inherit',
  env: { ...process.env, SOAK_APP_ENTRY: `${appDir}main.js`, SOAK_MINUTES: values.minutes, SOAK_STREAMERS: values.streamers, SOAK_VIEWERS: values.viewers, SOAK_SEED: values.seed, SOAK_TOPOLOGY: values.topology },
});
process.exit(run.status ?? 1);
