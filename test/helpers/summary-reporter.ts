/**
 * Prints one plain closing line, `N passed, N failed, N skipped`, after vitest's own summary, so that tools
 * reading only the last line of a CI log (ours does) see the counts without parsing vitest's colours.
 */
import type { Reporter, TestModule } from "vitest/node";

/** The reporter; registered in vitest.config.ts next to the default one. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for (const module of testModules) {
      let failedTests = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") counts.passed++;
        else if (state === "failed") failedTests++;
        else counts.skipped++;
      }
      counts.failed += failedTests;
      // A file that failed without a failed test (it did not load, or a beforeAll/afterAll threw and its tests
      // show as skipped) counts as one failure, so the closing line never reads "0 failed" for a failed run.
      if (module.state() === "failed" && failedTests === 0) counts.failed++;
    }
    counts.failed += unhandledErrors.length;
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
