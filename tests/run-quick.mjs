#!/usr/bin/env node
/**
 * `npm run test:quick`, the tier for use while working: builds the app, runs every unit test (vitest) and one browser
 * smoke test, names every skipped and failed test and prints one line "N passed, N failed". No lint, no other browser test:
 * `npm test` (run-all.mjs) is the whole suite.
 */
import {
  browserInstalled,
  buildApp,
  playwrightCounts,
  prepareReports,
  printFailed,
  printSkipped,
  runPlaywright,
  runVitest,
  vitestCounts,
} from './steps.mjs';

/** The browser smoke test, by its title in tests/browser/pretrain.spec.ts: the page, the worker, WebGPU and the shipped model. */
const SMOKE_TEST = 'the app loads on WebGPU with the shipped checkpoint and no console errors';

prepareReports();
let passed = 0;
let failed = 0;
const otherFailures = [];

const build = buildApp();
if (build !== 0) {
  failed += 1;
  otherFailures.push('build       vite build failed (see its output above)');
}

const unit = runVitest([]);
const unitCounts = vitestCounts(unit);
passed += unitCounts.passed;
failed += unitCounts.failed;

let browser = null;
if (!browserInstalled()) {
  failed += 1;
  otherFailures.push('playwright  no browser installed (see above)');
} else if (build === 0) {
  browser = runPlaywright(['-g', SMOKE_TEST]);
  const smoke = playwrightCounts(browser);
  const found = smoke.passed + smoke.failed > 0;
  if (!found) console.error(`\nNo browser test is titled "${SMOKE_TEST}": update SMOKE_TEST in tests/run-quick.mjs.`);
  passed += smoke.passed;
  failed += found ? smoke.failed : 1;
  if (!found) otherFailures.push(`playwright  no test titled "${SMOKE_TEST}"`);
}

printSkipped(unit, browser);
printFailed(unit, browser, otherFailures);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
