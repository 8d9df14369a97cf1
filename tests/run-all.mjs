#!/usr/bin/env node
/**
 * `npm test`: builds the app, lints it (ESLint, Prettier, svelte-check), runs the unit tests (vitest, Node, wasm backend) and the browser tests
 * (Playwright driving the system Chromium with WebGPU), then names every skipped and failed test and prints one line "N passed, N failed".
 * Extra arguments go to both runners' filters, e.g. `npm test -- model`.
 */
import {
  browserInstalled,
  buildApp,
  prepareReports,
  playwrightCounts,
  printFailed,
  printSkipped,
  runBeside,
  runPlaywright,
  runVitest,
  vitestCounts,
} from './steps.mjs';

const filters = process.argv.slice(2);
prepareReports();

let passed = 0;
let failed = 0;
const otherFailures = [];

const build = buildApp();
if (build !== 0) {
  failed += 1;
  otherFailures.push('build       vite build failed (see its output above)');
}

// lint: ESLint (with the layers' import rules), Prettier and svelte-check count as one test. It runs beside the unit
// tests: mostly one core for a minute, against vitest's two forks.
const lint = filters.length === 0 ? runBeside('npm', ['run', '--silent', 'lint'], 'test-results/lint.log') : null;

const unit = runVitest(filters);
const unitCounts = vitestCounts(unit);
passed += unitCounts.passed;
failed += unitCounts.failed;

if (lint) {
  if ((await lint) === 0) passed += 1;
  else {
    failed += 1;
    otherFailures.push('lint        npm run lint failed (its output: test-results/lint.log, printed above)');
  }
}

let browser = null;
if (!browserInstalled()) {
  failed += 1;
  otherFailures.push('playwright  no browser installed (see above)');
} else if (build === 0) {
  browser = runPlaywright(filters);
  if (!browser) otherFailures.push('playwright  wrote no report (see its output above)');
  const browserCounts = playwrightCounts(browser);
  passed += browserCounts.passed;
  failed += browserCounts.failed;
}

printSkipped(unit, browser);
printFailed(unit, browser, otherFailures);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
