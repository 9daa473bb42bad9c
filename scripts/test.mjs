// `npm test`: the whole suite, in two runs of Jest. First everything but test/abuse, three files at a time; then
// the abuse suite alone, one file at a time: it measures how fast a pod pinned to one core answers a
// control client while an attacker on the other core presses it, and another test's load on the same
// cores would falsify that. One closing line counts both runs ("jest: N passed, N failed"), which CI
// reads. With arguments (a path, -t …) it is one Jest run with them, as `jest` itself would be.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const JEST = fileURLToPath(new URL('../node_modules/jest/bin/jest.js', import.meta.url));

function jest(args, env = {}) {
  const run = spawnSync(process.execPath, ['--experimental-vm-modules', JEST, ...args], { stdio: 'inherit', env: { ...process.env, ...env } });
  return run.status ?? 1;
}

const args = process.argv.slice(2);
if (args.length > 0) process.exit(jest(args));

const dir = mkdtempSync(join(tmpdir(), 'jest-summary-'));
const summary = join(dir, 'counts.jsonl');
try {
  const whole = jest(['--testPathIgnorePatterns', '/test/abuse/'], { JEST_SUMMARY_FILE: summary });
  const abuse = jest(['--runInBand', 'test/abuse/'], { JEST_SUMMARY_FILE: summary });
  const counts = readFileSync(summary, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .reduce((sum, run) => ({ passed: sum.passed + run.passed, failed: sum.failed + run.failed, skipped: sum.skipped + run.skipped }), { passed: 0, failed: 0, skipped: 0 });
  const runs = readFileSync(summary, 'utf8').trim().split('\n').length;
  // A run that crashed before reporting counts as a failure even if no test did.
  const failed = counts.failed + (runs < 2 ? 1 : 0);
  process.stdout.write(`jest: ${counts.passed} passed, ${failed} failed${counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''}\n`);
  process.exit(whole !== 0 || abuse !== 0 || failed > 0 ? 1 : 0);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
