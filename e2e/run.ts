/**
 * `npm run test:e2e`: the browser tests under node:test with the spec
 * reporter, closed by `N passed, N failed`, also written to reports/e2e.json
 * for .ci/run to add to the vitest counts. Exit 1 on any failure, or when
 * nothing ran at all.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { finished } from "node:stream/promises";
import { run } from "node:test";
import { spec } from "node:test/reporters";
import { fileURLToPath } from "node:url";

function finish(passed: number, failed: number): void {
  mkdirSync("reports", { recursive: true });
  writeFileSync("reports/e2e.json", `${JSON.stringify({ passed, failed })}\n`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed > 0 || passed === 0 ? 1 : 0;
}

const chromium = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
if (!existsSync(chromium)) {
  console.error(`${chromium} is missing: apt-get install -y chromium (Debian's build; no browser is ever downloaded)`);
  finish(0, 1);
} else {
  let passed = 0;
  let failedTests = 0;
  let failedSuites = 0;
  // In this process (isolation "none"), so the test file loads through the same tsx loader as this one.
  const stream = run({
    files: [fileURLToPath(new URL("./console.test.ts", import.meta.url))],
    isolation: "none",
    concurrency: false,
  });
  stream.on("test:pass", (event) => {
    if (event.details.type !== "suite") passed++;
  });
  // A failed test also fails its suite: count tests. A failed hook cancels its tests, which arrive here
  // as failures too; a suite that fails with every test passed (an `after` hook) still fails the run.
  stream.on("test:fail", (event) => {
    if (event.details.type === "suite") failedSuites++;
    else failedTests++;
  });
  // Wait for the reporter's own summary to be written, so our line closes the output.
  const report = stream.compose(new spec());
  report.pipe(process.stdout, { end: false });
  await finished(report);
  finish(passed, failedTests > 0 ? failedTests : Math.min(failedSuites, 1));
}
