#!/usr/bin/env node
/**
 * `npm run test:quick`, the tier for use while working: builds the app, runs every unit test (vitest) and one browser
 * smoke test, names every skipped test and prints one line "N passed, N failed". No lint, no other browser test:
 * `npm test` (run-all.mjs) is the whole suite.
 */
import {
  browserInstalled,
  buildApp,
  playwrightCounts,
  prepareReports,
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

const build = buildApp();
if (build !== 0) failed += 1;

const unit = runVitest([]);
const unitCounts = vitestCounts(unit);
passed += unitCounts.passed;
failed += unitCounts.failed;

let browser = null;
if (!browserInstalled()) failed += 1;
else if (build === 0) {
  browser = runPlaywright(['-g', SMOKE_TEST]);
  const smoke = playwrightCounts(browser);
  const found = smoke.passed + smoke.failed > 0;
  if (!found) console.error(`\nNo browser test is titled "${SMOKE_TEST}": update SMOKE_TEST in tests/run-quick.mjs.`);
  passed += smoke.passed;
  failed += found ? smoke.failed : 1;
}

printSkipped(unit, browser);
console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
