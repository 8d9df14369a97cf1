import { expect, test } from '@playwright/test';
import { expectWebGpu, freshTinyModel, openApp, setSetting, stepCount } from './app';

test('the app loads on WebGPU with the shipped checkpoint and no console errors', async ({ page }) => {
  const app = await openApp(page);
  await expectWebGpu(page);
  await expect(page.getByTestId('adapter')).not.toBeEmpty();
  await expect(page.getByTestId('model-info')).toContainText('shipped mini checkpoint');
  await expect(page.getByTestId('header-model')).toContainText('M params');
  await expect(page.getByTestId('corpus-info')).toContainText('built-in world');
  expect(app.consoleErrors).toEqual([]);
});

test('the shipped checkpoint produces samples', async ({ page }) => {
  await openApp(page);
  await expectWebGpu(page);
  await page.getByTestId('pretrain-samples-now').click();
  const items = page.getByTestId('pretrain-samples').locator('li');
  await expect(items).toHaveCount(3, { timeout: 120_000 });
  const texts = await items.allTextContents();
  // fluent text of the corpus's kind: mostly known English words, not character soup
  for (const text of texts) expect(text.trim().split(/\s+/).length).toBeGreaterThan(5);
  expect(texts.join(' ')).toMatch(/\b(the|and|was|to)\b/);
});

test('pretraining from scratch: the loss falls, the chart gains points, pause stops the counter, the page stays responsive', async ({
  page,
}) => {
  await openApp(page);
  await expectWebGpu(page);
  await freshTinyModel(page);
  await setSetting(page, 'pretrain', 'batch_size', 2);
  await setSetting(page, 'pretrain', 'warmup_steps', 0);
  await setSetting(page, 'pretrain', 'learning_rate', 0.01);
  await setSetting(page, 'pretrain', 'eval_every', 4);
  await setSetting(page, 'pretrain', 'sample_every', 6);
  await page.evaluate(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((list) => list.getEntries().forEach((e) => w.longTasks.push(e.duration))).observe({
      type: 'longtask',
      buffered: false,
    });
  });

  await page.getByTestId('pretrain-run').click();
  await expect(page.getByTestId('pretrain-state')).toHaveText('running');
  await expect.poll(() => stepCount(page), { timeout: 200_000 }).toBeGreaterThanOrEqual(8);
  // the page answers while training: a setting field still takes focus and input
  await page.getByTestId('setting-pretrain-seed').focus();
  await page.getByTestId('pretrain-pause').click();
  await expect(page.getByTestId('pretrain-state')).toHaveText('paused');

  const stats = page.getByTestId('pretrain-stats');
  const first = Number(await stats.getAttribute('data-first'));
  const last = Number(await stats.getAttribute('data-last'));
  expect(first).toBeGreaterThan(5);
  expect(last).toBeLessThan(first - 0.5);
  await expect.poll(async () => Number(await page.getByTestId('pretrain-chart').getAttribute('data-points'))).toBeGreaterThanOrEqual(8);
  await expect(page.getByTestId('pretrain-val-loss')).not.toHaveText('–');
  await expect(page.getByTestId('pretrain-samples').locator('li')).toHaveCount(3);

  const paused = await stepCount(page);
  await page.waitForTimeout(2000);
  expect(await stepCount(page)).toBe(paused);

  const longTasks = await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks);
  expect(Math.max(0, ...longTasks)).toBeLessThan(200);
});

test('bad input gets a clear message and loses nothing: a binary corpus, an out-of-range setting, a corrupt checkpoint', async ({
  page,
}) => {
  await openApp(page);
  const corpusBefore = await page.getByTestId('corpus-info').textContent();
  await page.getByTestId('corpus-file').setInputFiles({
    name: 'image.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0xff, 0xfe, 0x00, 0x01]),
  });
  await expect(page.getByTestId('corpus-error')).toContainText(/binary/i);
  await expect(page.getByTestId('corpus-info')).toHaveText(corpusBefore!);

  const lr = page.getByTestId('setting-pretrain-learning_rate');
  await lr.fill('7');
  await lr.press('Tab');
  await expect(page.getByTestId('error-pretrain-learning_rate')).toContainText('between');

  const modelBefore = await page.getByTestId('model-info').textContent();
  await page.getByTestId('checkpoint-upload').setInputFiles({
    name: 'broken.safetensors',
    mimeType: 'application/octet-stream',
    buffer: Buffer.from('not a checkpoint at all, just some text'),
  });
  await expect(page.getByTestId('model-error')).toContainText('Cannot load this checkpoint');
  await expect(page.getByTestId('model-info')).toHaveText(modelBefore!);
});

for (const backend of ['webgl', 'wasm'] as const) {
  test(`?backend=${backend} starts the fallback chain there, says so, and trains`, async ({ page }) => {
    const app = await openApp(page, `?backend=${backend}`);
    await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', backend);
    await expect(page.getByTestId('backend')).toHaveAttribute('title', new RegExp(`started at ${backend} as asked`));
    await freshTinyModel(page);
    await setSetting(page, 'pretrain', 'batch_size', 2);
    await setSetting(page, 'pretrain', 'warmup_steps', 0);
    await setSetting(page, 'pretrain', 'learning_rate', 0.01);
    for (let i = 1; i <= 3; i++) {
      await page.getByTestId('pretrain-step').click();
      await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBe(i);
    }
    const stats = page.getByTestId('pretrain-stats');
    await expect
      .poll(async () => Number(await stats.getAttribute('data-last')))
      .toBeLessThan(Number(await stats.getAttribute('data-first')));
    expect(app.consoleErrors).toEqual([]);
  });
}
