#!/usr/bin/env node
/**
 * `npm test`: builds the app, lints it (ESLint, Prettier, svelte-check), runs the unit tests (vitest, Node, cpu backend) and the browser tests
 * (Playwright driving the system Chromium with WebGPU), then prints one line "N passed, N failed".
 * Extra arguments go to both runners' filters, e.g. `npm test -- model`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

const filters = process.argv.slice(2);
mkdirSync('test-results', { recursive: true });

function run(command, args, env = {}) {
  console.log(`\n$ ${command} ${args.join(' ')}`);
  return spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

let passed = 0;
let failed = 0;

const build = run('npx', ['vite', 'build', '--logLevel', 'warn']);
if (build !== 0) failed += 1;

// lint: ESLint (with the layers' import rules), Prettier and svelte-check count as one test
if (filters.length === 0) {
  if (run('npm', ['run', '--silent', 'lint']) === 0) passed += 1;
  else failed += 1;
}

run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', '--outputFile.json=test-results/vitest.json', ...filters]);
const unit = readJson('test-results/vitest.json');
if (unit) {
  passed += unit.numPassedTests;
  failed +=
    unit.numFailedTests +
    (unit.numTotalTestSuites > 0 && unit.testResults.some((f) => f.status === 'failed' && f.assertionResults.length === 0) ? 1 : 0);
} else failed += 1;

const chrome = process.env.CHROME_PATH || '/usr/bin/chromium';
if (!existsSync(chrome)) {
  console.error(
    `\nNo browser at ${chrome}: install Chromium (apt-get install chromium) or set CHROME_PATH. Browser tests count as failed.`,
  );
  failed += 1;
} else if (build === 0) {
  run('npx', ['playwright', 'test', '--reporter=list,json', ...filters], { PLAYWRIGHT_JSON_OUTPUT_NAME: 'test-results/playwright.json' });
  const browser = readJson('test-results/playwright.json');
  if (browser) {
    passed += browser.stats.expected + (browser.stats.flaky ?? 0);
    failed += browser.stats.unexpected;
    if (browser.errors?.length) failed += browser.errors.length;
  } else failed += 1;
}

console.log(`\n${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
