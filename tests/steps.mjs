/**
 * The pieces that `npm test` (run-all.mjs) and `npm run test:quick` (run-quick.mjs) share: running a command, the build,
 * vitest and Playwright with their JSON reports, counting their passed and failed tests, and naming every skipped and failed test.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { relative } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

const VITEST_REPORT = 'test-results/vitest.json';
const PLAYWRIGHT_REPORT = 'test-results/playwright.json';

export function run(command, args, env = {}) {
  console.log(`\n$ ${command} ${args.join(' ')}`);
  return spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;
}

/**
 * Starts `command` beside what runs next, its output kept in `logPath` (a file, so nothing waits on a pipe while a
 * synchronous step holds the event loop). The promise gives its exit status once it is printed.
 */
export function runBeside(command, args, logPath) {
  const log = openSync(logPath, 'w');
  const child = spawn(command, args, { stdio: ['ignore', log, log], env: process.env });
  return new Promise((done) =>
    child.on('close', (status) => {
      closeSync(log);
      console.log(`\n$ ${command} ${args.join(' ')}   (ran beside the unit tests)\n${readFileSync(logPath, 'utf8')}`);
      done(status ?? 1);
    }),
  );
}

export function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

/** Builds the app into dist/ (the browser tests serve it); returns the exit status. */
export function buildApp() {
  return run('npx', ['vite', 'build', '--logLevel', 'warn']);
}

/** Runs vitest (`args`: its filters) and returns its JSON report, null if it wrote none. */
export function runVitest(args) {
  run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${VITEST_REPORT}`, ...args]);
  return readJson(VITEST_REPORT);
}

/** Runs Playwright (`args`: its filters and options) and returns its JSON report, null if it wrote none. */
export function runPlaywright(args) {
  run('npx', ['playwright', 'test', '--reporter=list,json', ...args], { PLAYWRIGHT_JSON_OUTPUT_NAME: PLAYWRIGHT_REPORT });
  return readJson(PLAYWRIGHT_REPORT);
}

/** True if the browser that Playwright drives is installed; else says how to get one (the browser tests then count as failed). */
export function browserInstalled() {
  const chrome = process.env.CHROME_PATH || '/usr/bin/chromium';
  if (existsSync(chrome)) return true;
  console.error(
    `\nNo browser at ${chrome}: install Chromium (apt-get install chromium) or set CHROME_PATH. Browser tests count as failed.`,
  );
  return false;
}

/** Makes the reports' folder and removes an earlier run's reports, so that a runner that dies before writing its own counts as failed. */
export function prepareReports() {
  mkdirSync('test-results', { recursive: true });
  for (const path of [VITEST_REPORT, PLAYWRIGHT_REPORT]) rmSync(path, { force: true });
}

/** Passed and failed tests in vitest's JSON report; a file that failed before any test ran (an import, a throw at its top) counts one. */
export function vitestCounts(report) {
  if (!report) return { passed: 0, failed: 1 };
  const brokenFile = report.testResults.some((f) => f.status === 'failed' && f.assertionResults.length === 0);
  return { passed: report.numPassedTests, failed: report.numFailedTests + (report.numTotalTestSuites > 0 && brokenFile ? 1 : 0) };
}

/** Passed (flaky ones too) and failed tests in Playwright's JSON report, with its errors outside tests. */
export function playwrightCounts(report) {
  if (!report) return { passed: 0, failed: 1 };
  return { passed: report.stats.expected + (report.stats.flaky ?? 0), failed: report.stats.unexpected + (report.errors?.length ?? 0) };
}

const VITEST_NOT_RUN = new Set(['skipped', 'pending', 'todo']);

function vitestSkipped(report) {
  return (report?.testResults ?? []).flatMap((file) =>
    file.assertionResults
      .filter((t) => VITEST_NOT_RUN.has(t.status))
      .map((t) => `vitest      ${relative(process.cwd(), file.name)} > ${[...t.ancestorTitles, t.title].join(' > ')}`),
  );
}

function playwrightSkipped(suite, titles = []) {
  const here = (suite.specs ?? []).flatMap((spec) =>
    spec.tests
      .filter((t) => t.status === 'skipped')
      .map((t) => {
        const reason = t.annotations?.find((a) => a.type === 'skip')?.description;
        return `playwright  ${spec.file} > ${[...titles, spec.title].join(' > ')}${reason ? ` (${reason})` : ''}`;
      }),
  );
  return [...here, ...(suite.suites ?? []).flatMap((s) => playwrightSkipped(s, [...titles, s.title]))];
}

/** Prints every skipped test by name, vitest's and Playwright's, so that no skip goes unseen. */
export function printSkipped(unitReport, browserReport) {
  const skipped = [...vitestSkipped(unitReport), ...(browserReport?.suites ?? []).flatMap((s) => playwrightSkipped(s))];
  console.log(`\n${skipped.length} skipped${skipped.length ? ':' : ''}`);
  for (const name of skipped) console.log(`  ${name}`);
}

function firstLine(message) {
  return stripVTControlCharacters(message ?? '')
    .trim()
    .split('\n')[0]
    .slice(0, 300);
}

function vitestFailed(report) {
  if (!report) return ['vitest      (wrote no report: see its output above)'];
  return report.testResults.flatMap((file) => {
    const name = relative(process.cwd(), file.name);
    const failedTests = file.assertionResults.filter((t) => t.status === 'failed');
    if (file.status === 'failed' && failedTests.length === 0) return [`vitest      ${name} (the file failed: ${firstLine(file.message)})`];
    return failedTests.map(
      (t) => `vitest      ${name} > ${[...t.ancestorTitles, t.title].join(' > ')}: ${firstLine(t.failureMessages?.[0])}`,
    );
  });
}

function playwrightFailed(suite, titles = []) {
  const here = (suite.specs ?? []).flatMap((spec) =>
    spec.tests
      .filter((t) => t.status === 'unexpected')
      .map((t) => {
        const error = t.results?.at(-1)?.error?.message;
        return `playwright  ${spec.file} > ${[...titles, spec.title].join(' > ')}: ${firstLine(error)}`;
      }),
  );
  return [...here, ...(suite.suites ?? []).flatMap((s) => playwrightFailed(s, [...titles, s.title]))];
}

/**
 * Prints every failed test by name with the first line of its error, last of all, so that the end of a long log (all
 * that CI may keep) says what failed. `others`: failures outside the runners (the build, lint), already named.
 */
export function printFailed(unitReport, browserReport, others = []) {
  const browserErrors = (browserReport?.errors ?? []).map((e) => `playwright  (outside a test) ${firstLine(e.message)}`);
  const failed = [
    ...others,
    ...vitestFailed(unitReport),
    ...(browserReport?.suites ?? []).flatMap((s) => playwrightFailed(s)),
    ...browserErrors,
  ];
  if (failed.length === 0) return;
  console.log(`\n${failed.length} failed:`);
  for (const name of failed) console.log(`  ${name}`);
}
