// Prints one plain closing line, "jest: N passed, N failed", which CI reads to tell a run that
// executed tests from one that ran none. Jest's own summary is not in a form CI recognises.
// Under scripts/test.mjs (JEST_SUMMARY_FILE set), which runs Jest twice, the counts go to that file
// instead and the script prints the one line for both runs.
const { appendFileSync } = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const counts = { passed: results.numPassedTests, failed: results.numFailedTests, skipped: results.numPendingTests + results.numTodoTests };
    const file = process.env.JEST_SUMMARY_FILE;
    if (file) {
      appendFileSync(file, `${JSON.stringify(counts)}\n`);
      return;
    }
    const tail = counts.skipped > 0 ? `, ${counts.skipped} skipped` : '';
    process.stdout.write(`jest: ${counts.passed} passed, ${counts.failed} failed${tail}\n`);
  }
}
module.exports = SummaryReporter;
