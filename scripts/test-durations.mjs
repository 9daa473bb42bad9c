// Writes test/durations.json, the seconds each test file took, from a Jest run's JSON report:
//   node --experimental-vm-modules node_modules/jest/bin/jest.js --testPathIgnorePatterns /test/abuse/ --json --outputFile=/tmp/run.json
//   node scripts/test-durations.mjs /tmp/run.json
// (the run `npm test` makes first: the abuse suite runs alone afterwards, one file at a time, in any order).
// test/helpers/slowest-first-sequencer.mjs starts the slowest files first with it (see there why).
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const report = process.argv[2];
if (report === undefined) {
  process.stderr.write('usage: node scripts/test-durations.mjs <jest --json output>\n');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const { testResults } = JSON.parse(readFileSync(report, 'utf8'));
const seconds = Object.fromEntries(
  testResults
    .map((file) => [relative(root, file.name), Math.round((file.endTime - file.startTime) / 100) / 10])
    .sort(([a], [b]) => (a < b ? -1 : 1)),
);
writeFileSync(new URL('../test/durations.json', import.meta.url), `${JSON.stringify(seconds, null, 2)}\n`);
process.stdout.write(`test/durations.json: ${Object.keys(seconds).length} files\n`);
