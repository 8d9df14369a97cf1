/**
 * Cross-origin isolation and tfjs-wasm's threads (issue #20): the preview and dev servers make the page isolated,
 * wasm then runs on more than one thread where the machine has more than one core, one thread is chosen with
 * ?threads=1, a threaded start that fails falls back to one thread with the reason, a static host that sends no
 * headers is isolated by the service worker, and the classroom server's pages (the lecturer's app, the student page)
 * are isolated too and load without errors.
 */
import { expect, test, type Page } from '@playwright/test';
import { spawn } from 'node:child_process';
import { createReadStream, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join } from 'node:path';
import { startClassroomServer } from '../../scripts/classroom';
import { ISOLATION_HEADERS } from '../../scripts/isolation';
import { expectWasm, ON_WASM, openApp } from './app';

const DEV_PORT = Number(process.env.PW_PORT || 4173) + 1000;

async function threadsOf(page: Page): Promise<number> {
  return Number(await page.getByTestId('backend').getAttribute('data-threads'));
}

async function expectThreaded(page: Page): Promise<void> {
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const threads = await threadsOf(page);
  if (cores > 1) expect(threads).toBeGreaterThan(1);
  else expect(threads).toBe(1);
  await expect(page.getByTestId('adapter')).toContainText(`${threads} thread`);
}

test('wasm: the preview server isolates the page, and wasm runs on every core; ?threads=1 on one, saying so', async ({ page }) => {
  test.setTimeout(180_000);
  const response = await page.request.get('/');
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) expect(response.headers()[name.toLowerCase()]).toBe(value);
  const app = await openApp(page, ON_WASM);
  await expectWasm(page);
  await expectThreaded(page);
  // the threaded build computes: the shipped model writes samples
  await page.getByTestId('pretrain-samples-now').click();
  await expect(page.getByTestId('pretrain-samples').locator('li')).toHaveCount(3, { timeout: 60_000 });

  await openApp(page, `${ON_WASM}&threads=1`);
  await expectWasm(page);
  expect(await threadsOf(page)).toBe(1);
  await expect(page.locator('.why')).toContainText('wasm on one thread, as asked (?threads=1)');
  expect(app.consoleErrors).toEqual([]);
});

test('wasm: a threaded start that fails falls back to one thread with the reason, and still computes', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto('/bench.html?backend=wasm&preset=tiny&batch=2&steps=1&memorySteps=1&sampleTokens=4&ppo=0&threadedStartMs=1');
  const handle = await page.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult, null, {
    timeout: 150_000,
  });
  const result = (await handle.jsonValue()) as { backend: string; threads: number; fallback_reasons: string[]; train_tokens_per_s: number };
  expect(result.backend).toBe('wasm');
  expect(result.threads).toBe(1);
  expect(result.fallback_reasons.join(' ')).toContain('threads failed to start');
  expect(result.train_tokens_per_s).toBeGreaterThan(0);
});

test('wasm: the dev server isolates the page too, and its bundled tfjs starts threaded', async ({ page }) => {
  test.setTimeout(240_000);
  const dev = spawn('npx', ['vite', '--port', String(DEV_PORT), '--strictPort', '--host', '127.0.0.1'], {
    stdio: 'ignore',
    detached: true,
  });
  try {
    await expect
      .poll(
        () =>
          fetch(`http://127.0.0.1:${DEV_PORT}/`).then(
            (r) => r.status,
            () => 0,
          ),
        { timeout: 60_000 },
      )
      .toBe(200);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${DEV_PORT}/${ON_WASM}`);
    await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'wasm', { timeout: 180_000 });
    await expectThreaded(page);
    expect(errors).toEqual([]);
  } finally {
    process.kill(-dev.pid!);
  }
});

test('the classroom server sends the isolation headers; the lecturer app is isolated and the student page loads', async ({ page }) => {
  test.setTimeout(180_000);
  const classroom = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: 'dist' });
  try {
    const base = `http://127.0.0.1:${classroom.port}`;
    for (const path of ['/', '/student.html']) {
      const response = await page.request.get(base + path);
      expect(response.status()).toBe(200);
      for (const [name, value] of Object.entries(ISOLATION_HEADERS)) expect(response.headers()[name.toLowerCase()]).toBe(value);
    }
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/${ON_WASM}`);
    await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'wasm', { timeout: 120_000 });
    await expectThreaded(page);
    await page.goto(`${base}/student.html`);
    await expect(page.locator('body')).not.toBeEmpty();
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(errors).toEqual([]);
  } finally {
    await classroom.close();
  }
});

test('wasm: a static host that sends no isolation headers (GitHub Pages) is isolated by the service worker', async ({ page }) => {
  test.setTimeout(180_000);
  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };
  const plain = createServer((req, res) => {
    const path = join('dist', new URL(req.url ?? '/', 'http://x').pathname.replace(/\/$/, '/index.html'));
    if (!existsSync(path)) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': types[extname(path)] ?? 'application/octet-stream' });
    createReadStream(path).pipe(res);
  });
  await new Promise<void>((done) => plain.listen(0, '127.0.0.1', done));
  try {
    const base = `http://127.0.0.1:${(plain.address() as { port: number }).port}`;
    const response = await page.request.get(`${base}/`);
    expect(response.headers()['cross-origin-embedder-policy']).toBeUndefined();
    // the first load registers the service worker and reloads itself under it
    await page.goto(`${base}/${ON_WASM}`);
    await expect.poll(() => page.evaluate(() => crossOriginIsolated).catch(() => false), { timeout: 60_000 }).toBe(true);
    await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'wasm', { timeout: 120_000 });
    await expectThreaded(page);
  } finally {
    plain.closeAllConnections();
    await new Promise<void>((done) => plain.close(() => done()));
  }
});
