// Ends the run with one plain line, "Tests: N passed, N failed", that tools reading test output understand.
class SummaryReporter {
  onRunComplete(_contexts, results) {
    process.stdout.write(`Tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed\n`);
  }
}
module.exports = SummaryReporter;
