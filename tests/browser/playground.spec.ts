/**
 * The playground as a student meets it: SFT, ranking by keyboard and by drag and drop, the reward model,
 * PPO-ptx with a ranking mid-run, persistence across a reload, export/import, and lecture mode.
 * SCREENSHOTS=1 also runs a longer flow and writes docs/*.png of every stage at 1280x800 and 390x844.
 */
import { expect, test, type Page } from '@playwright/test';
import { mkdirSync, readFileSync } from 'node:fs';
import { expectWasm, expectWebGpu, ON_WASM, openApp, setSetting } from './app';

const TINY = 'tests/fixtures/tiny-pretrained.safetensors';

/** The tiny pretrained fixture: fast on the software WebGPU adapter, and it writes words, not soup. */
async function tinyModel(page: Page): Promise<void> {
  await page.getByTestId('checkpoint-upload').setInputFiles(TINY);
  await expect(page.getByTestId('model-info')).toContainText('tiny-pretrained', { timeout: 60_000 });
}

/** Small settings so that each stage takes seconds on SwiftShader; response_length also sets the ranking tasks' length. */
async function smallSettings(page: Page, ppoIterations: number): Promise<void> {
  const wanted: Record<string, Record<string, number>> = {
    // the minibatch first: the engine refuses a minibatch larger than the batch
    ppo: { response_length: 8, mini_batch_size: 2, batch_size: 2, num_ppo_epochs: 1, iterations: ppoIterations },
    reward: { rankings_per_batch: 2, epochs: 1, held_out_share: 0.3, update_steps: 2 },
    sft: { epochs: 1, demonstrations: 8, batch_size: 4 },
  };
  for (const [stage, settings] of Object.entries(wanted)) {
    await page.getByTestId(`tab-${stage}`).click();
    for (const [key, value] of Object.entries(settings)) await setSetting(page, stage, key, value);
  }
  // the engine took every value (a refusal shows only once its answer is back)
  await expect
    .poll(() =>
      page.evaluate(
        () =>
          (window as unknown as { playground: { status: { settings: Record<string, Record<string, unknown>> } } }).playground.status
            .settings,
      ),
    )
    .toMatchObject(wanted);
}

const count = async (page: Page, testid: string) => Number((await page.getByTestId(testid).textContent()) ?? NaN);
const points = async (page: Page, testid: string) => Number(await page.getByTestId(testid).getAttribute('data-points'));

/** Waits for a ranking task with k completions that differs from `previous`; returns its id and completion order. */
async function freshTask(page: Page, k: number, previous = ''): Promise<{ id: string; order: string[] }> {
  const task = page.getByTestId('ranking-task');
  await expect(task).toBeVisible({ timeout: 90_000 });
  await expect.poll(async () => (await task.getAttribute('data-task-id')) !== previous, { timeout: 90_000 }).toBe(true);
  await expect(task.locator('li.item')).toHaveCount(k);
  return { id: (await task.getAttribute('data-task-id'))!, order: await displayed(page, k) };
}

async function displayed(page: Page, k: number): Promise<string[]> {
  const order: string[] = [];
  for (let i = 0; i < k; i++) order.push((await page.getByTestId(`ranking-item-${i}`).getAttribute('data-completion'))!);
  return order;
}

async function submitAndCount(page: Page, before: number): Promise<void> {
  await page.getByTestId('ranking-submit').click();
  // at least: a simulated labeler may add its own meanwhile
  await expect.poll(() => count(page, 'ranking-count'), { timeout: 60_000 }).toBeGreaterThanOrEqual(before + 1);
}

/** Trains the reward model; when every ranking so far fell into the held-out share, ranks one more and tries again. */
async function trainReward(page: Page): Promise<void> {
  for (let attempt = 0; attempt < 4; attempt++) {
    await page.getByTestId('reward-run').click();
    let outcome = '';
    await expect
      .poll(
        async () => {
          const banner = page.getByTestId('error-banner');
          if ((await banner.count()) && /held-out/.test((await banner.textContent()) ?? '')) return (outcome = 'held-out');
          return (outcome = (await page.getByTestId('reward-state').textContent()) ?? '');
        },
        { timeout: 120_000 },
      )
      .toMatch(/^(done|held-out)$/);
    if (outcome === 'done') return;
    await page.getByTestId('error-banner').getByRole('button', { name: 'Dismiss' }).click();
    const { id } = await freshTask(page, 4);
    await submitAndCount(page, await count(page, 'ranking-count'));
    await freshTask(page, 4, id);
  }
  throw new Error('the reward model never trained');
}

const SHOTS = process.env.SCREENSHOTS === '1';
const t0 = Date.now();
/** PLAYGROUND_TIMES=1 prints how long each phase took (seconds since the file started). */
const mark = (what: string) => process.env.PLAYGROUND_TIMES && console.log(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);

/** Console errors, less the 404 of a missing shipped checkpoint (the app then starts a fresh model and says so). */
function watchErrors(page: Page, consoleErrors: string[]): () => string[] {
  const failed: string[] = [];
  page.on('response', (r) => {
    if (r.status() >= 400 && !r.url().includes('/checkpoints/')) failed.push(`${r.status()} ${r.url()}`);
  });
  return () => [...consoleErrors.filter((e) => !/^Failed to load resource/.test(e)), ...failed];
}

/**
 * Full-page screenshots of every stage at 1280x800 and 390x844 (docs/stage-*.png); the page never scrolls sideways.
 * docs/screenshot.png is the PPO-ptx page at 1280x800, docs/screenshot-phone.png the ranking panel on a phone.
 */
async function screenshots(page: Page): Promise<void> {
  mkdirSync('docs', { recursive: true });
  for (const [size, viewport] of [
    ['', { width: 1280, height: 800 }],
    ['-phone', { width: 390, height: 844 }],
  ] as const) {
    await page.setViewportSize(viewport);
    for (const stage of ['pretrain', 'sft', 'reward', 'ppo']) {
      await page.getByTestId(`tab-${stage}`).click();
      await page.waitForTimeout(500);
      const wide = await page.evaluate((width) => {
        const over = [...document.querySelectorAll<HTMLElement>('body *')].filter((e) => e.getBoundingClientRect().right > width + 1);
        return {
          scrollWidth: document.documentElement.scrollWidth,
          culprits: over.slice(-3).map((e) => `${e.tagName.toLowerCase()}.${e.className} ${Math.round(e.getBoundingClientRect().right)}px`),
        };
      }, viewport.width);
      expect(wide.scrollWidth, `${stage} at ${viewport.width}px is wider than the screen: ${wide.culprits.join(', ')}`).toBeLessThanOrEqual(
        viewport.width,
      );
      await page.screenshot({ path: `docs/stage-${stage}${size}.png`, fullPage: true });
    }
  }
  await page.getByTestId('jump-to-ranking').click();
  await page.waitForTimeout(300);
  await page.screenshot({ path: 'docs/screenshot-phone.png' });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(500);
  await page.screenshot({ path: 'docs/screenshot.png', fullPage: true });
}

test('wasm: SFT, ranking by keyboard and by drag, reward model, PPO-ptx with a ranking mid-run, pause', async ({ page }) => {
  test.setTimeout(300_000);
  const app = await openApp(page, ON_WASM);
  const errors = watchErrors(page, app.consoleErrors);
  await expectWasm(page);
  await tinyModel(page);
  await smallSettings(page, 40);
  mark('settings');

  // SFT: two steps (8 demonstrations, batch 4)
  await page.getByTestId('sft-run').click();
  await expect(page.getByTestId('sft-state')).toHaveText('done', { timeout: 120_000 });
  await expect(page.getByTestId('sft-step-counter')).toHaveText('2 / 2');
  mark('sft done');
  await expect.poll(() => points(page, 'sft-chart')).toBeGreaterThanOrEqual(2);

  // rank with K = 4: the ranking column sits beside the stage panels
  await page.getByTestId('ranking-k').selectOption('4');
  await expect(page.getByTestId('ranking-hint')).toContainText('Enter');
  const start = await count(page, 'ranking-count');

  // by keyboard: 1 puts the focused last item at rank 1, ArrowDown moves it to rank 2, Enter submits
  let task = await freshTask(page, 4);
  await page.getByTestId('ranking-item-3').focus();
  await page.keyboard.press('1');
  await expect.poll(() => displayed(page, 4)).toEqual([task.order[3], task.order[0], task.order[1], task.order[2]]);
  await expect(page.getByTestId('ranking-item-0')).toBeFocused();
  await page.keyboard.press('ArrowDown');
  await expect.poll(() => displayed(page, 4)).toEqual([task.order[0], task.order[3], task.order[1], task.order[2]]);
  await expect(page.getByTestId('ranking-item-1')).toBeFocused();
  await page.keyboard.press('Enter');
  await expect.poll(() => count(page, 'ranking-count'), { timeout: 60_000 }).toBe(start + 1);
  await expect(page.getByTestId('ranking-last')).toBeVisible();
  mark('ranked by keyboard');

  // by drag and drop: the last completion dropped on the first
  task = await freshTask(page, 4, task.id);
  await page.getByTestId('ranking-item-3').dragTo(page.getByTestId('ranking-item-0'));
  await expect.poll(() => displayed(page, 4)).toEqual([task.order[3], task.order[0], task.order[1], task.order[2]]);
  await submitAndCount(page, start + 1);

  // a third one as it comes, so that both sides of the held-out split are likely to hold some
  task = await freshTask(page, 4, task.id);
  await submitAndCount(page, start + 2);
  await expect(page.getByTestId('ranking-pairs')).toHaveText(String(6 * (start + 3)));

  // the reward model trains on them (Eq. 1)
  await page.getByTestId('tab-reward').click();
  await expect(page.getByTestId('reward-rankings')).toHaveText(String(start + 3));
  mark('ranked 3');
  await trainReward(page);
  await expect.poll(() => points(page, 'reward-chart-loss')).toBeGreaterThanOrEqual(1);
  mark('reward trained');

  // PPO-ptx, and a ranking while it runs: the reward model updates between iterations
  await page.getByTestId('tab-ppo').click();
  await page.getByTestId('ppo-run').click();
  await expect(page.getByTestId('ppo-state')).toHaveText('running', { timeout: 30_000 });
  const updates = await count(page, 'ranking-updates');
  const ranked = await count(page, 'ranking-count');
  await freshTask(page, 4, task.id);
  await page.getByTestId('ranking-item-2').focus();
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await expect.poll(() => count(page, 'ranking-count'), { timeout: 60_000 }).toBe(ranked + 1);
  await expect.poll(() => count(page, 'ranking-updates'), { timeout: 120_000 }).toBeGreaterThan(updates);
  await expect(page.getByTestId('ranking-predicted')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('ppo-state')).toHaveText('running');
  mark('ranked during PPO, reward model updated');

  // the PPO charts gain points
  for (const chart of [
    'ppo-chart-scores',
    'ppo-chart-kl',
    'ppo-chart-kl-coef',
    'ppo-chart-policy-loss',
    'ppo-chart-value-loss',
    'ppo-chart-clipfrac',
    'ppo-chart-entropy',
    'ppo-chart-ptx',
  ]) {
    await expect.poll(() => points(page, chart), { timeout: 120_000, message: chart }).toBeGreaterThanOrEqual(2);
  }
  await expect(page.getByTestId('ppo-samples').locator('li')).not.toHaveCount(0, { timeout: 60_000 });

  mark('PPO charts have points');
  // pause stops them
  await page.getByTestId('ppo-pause').click();
  await expect(page.getByTestId('ppo-state')).toHaveText('paused', { timeout: 60_000 });
  const paused = await points(page, 'ppo-chart-scores');
  await page.waitForTimeout(4000);
  expect(await points(page, 'ppo-chart-scores')).toBe(paused);
  await expect(page.getByTestId('ppo-stats')).toHaveAttribute('data-nonfinite', '');

  mark('paused');
  expect(errors()).toEqual([]);
});

test('wasm: demonstrations; rankings outlive a reload; PPO-ptx without a reward model says so; export (pairs and full) and import them back; a bad file loses nothing', async ({
  page,
}) => {
  test.setTimeout(240_000);
  await openApp(page, ON_WASM);
  await expectWasm(page);
  await tinyModel(page);
  await smallSettings(page, 3);
  await page.getByTestId('tab-reward').click();
  await page.getByTestId('ranking-k').selectOption('3');
  const task = await freshTask(page, 3);
  await submitAndCount(page, 0);
  await freshTask(page, 3, task.id);
  await page.getByTestId('ranking-item-2').dragTo(page.getByTestId('ranking-item-0'));
  await submitAndCount(page, 1);
  await page.getByTestId('tab-sft').click();
  await page.getByTestId('demo-instruction').fill('Tell me about a cat.');
  await page.getByTestId('demo-response').fill('The cat sat in the sun and was happy.');
  await page.getByTestId('demo-add').click();
  await expect(page.getByTestId('demo-count')).toHaveText('1 of your own');
  // the shortcut beside a ranking task: its instruction is filled in
  await page.getByTestId('ranking-write-demo').click();
  await expect(page.getByTestId('ranking-demo-instruction')).not.toHaveValue('');
  expect(await page.getByTestId('ranking-demo-instruction').inputValue()).not.toContain('Response:');
  await page.getByTestId('ranking-demo-response').fill('Once upon a time a dog found a ball, and everyone was happy.');
  await page.getByTestId('ranking-demo-add').click();
  await expect(page.getByTestId('ranking-demo-count')).toHaveText('2 of your own');

  await page.reload();
  await expect(page.getByTestId('backend')).toBeVisible({ timeout: 120_000 });
  // later stages are open at once; PPO-ptx without a reward model says what is missing
  await page.getByTestId('tab-ppo').click();
  await page.getByTestId('ppo-run').click();
  await expect(page.getByTestId('error-banner')).toContainText('reward model');
  await expect(page.getByTestId('ppo-state')).toHaveText('not-started');
  await page.getByTestId('error-banner').getByRole('button', { name: 'Dismiss' }).click();
  await page.getByTestId('tab-reward').click();
  await expect(page.getByTestId('ranking-count')).toHaveText('2');
  await expect(page.getByTestId('ranking-pairs')).toHaveText('6');
  await expect(page.getByTestId('reward-rankings')).toHaveText('2');

  await page.getByTestId('rankings-data').locator('summary').click();
  const [full] = await Promise.all([page.waitForEvent('download'), page.getByTestId('rankings-export-full').click()]);
  expect(full.suggestedFilename()).toMatch(/\.jsonl$/);
  const fullText = readFileSync((await full.path())!, 'utf8');
  const lines = fullText
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(lines).toHaveLength(2);
  expect(lines[0].completions).toHaveLength(3);

  const [pairs] = await Promise.all([page.waitForEvent('download'), page.getByTestId('rankings-export-pairs').click()]);
  const pairLines = readFileSync((await pairs.path())!, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  expect(pairLines).toHaveLength(6);
  for (const p of pairLines) expect(Object.keys(p).sort()).toEqual(['chosen', 'prompt', 'rejected']);

  // delete them all (a second click confirms), then import the full export back
  await page.getByTestId('rankings-clear').click();
  await page.getByTestId('rankings-clear').click();
  await expect(page.getByTestId('ranking-count')).toHaveText('0');
  await page
    .getByTestId('rankings-import')
    .setInputFiles({ name: 'rankings.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(fullText) });
  await expect(page.getByTestId('rankings-import-message')).toContainText('Imported 2 rankings');
  await expect(page.getByTestId('ranking-count')).toHaveText('2');

  // a bad file: a clear message, and the two rankings stay
  await page.getByTestId('rankings-import').setInputFiles({
    name: 'broken.jsonl',
    mimeType: 'application/jsonl',
    buffer: Buffer.from('{"prompt": "x", "chosen": 3}\nnot json at all\n'),
  });
  await expect(page.getByTestId('rankings-import-message')).toContainText(/Nothing imported|skipped|bad line/i);
  await expect(page.getByTestId('rankings-import-message')).toContainText(/line/);
  await expect(page.getByTestId('ranking-count')).toHaveText('2');
  // the TRL pairs file imports too (the same pairs again are new rankings of two completions)
  await page
    .getByTestId('rankings-import')
    .setInputFiles({ name: 'pairs.jsonl', mimeType: 'application/jsonl', buffer: readFileSync((await pairs.path())!) });
  await expect(page.getByTestId('rankings-import-message')).toContainText('Imported');
  expect(await count(page, 'ranking-count')).toBeGreaterThan(2);
});

test('wasm: lecture mode: a simulated labeler ranks on its own while the reward model and a short PPO-ptx run train, with finite metrics', async ({
  page,
}) => {
  test.setTimeout(240_000);
  const app = await openApp(page, ON_WASM);
  const errors = watchErrors(page, app.consoleErrors);
  await expectWasm(page);
  await tinyModel(page);
  await smallSettings(page, 2);
  await page.getByTestId('tab-reward').click();

  await expect(page.getByTestId('labeler-select').locator('option')).not.toHaveCount(1);
  await page.getByTestId('labeler-controls').locator('summary').click();
  await expect(page.getByTestId('labeler-agreement')).toHaveValue('0.73');
  await expect(page.getByTestId('labeler-controls')).toContainText('73%');
  await page.getByTestId('labeler-pace').fill('500');
  await page.getByTestId('labeler-pace').press('Tab');
  await expect(page.getByTestId('labeler-error')).toContainText('between 1 and 120');
  await page.getByTestId('labeler-pace').fill('120');
  await page.getByTestId('labeler-pace').press('Tab');
  await page.getByTestId('labeler-k').fill('3');
  await page.getByTestId('labeler-k').press('Tab');
  await page.getByTestId('labeler-agreement').fill('0.9');
  await page.getByTestId('labeler-select').selectOption('happy-endings');
  await expect(page.getByTestId('labeler-status')).toContainText('120/min');
  await expect(page.getByTestId('labeler-error')).toHaveCount(0);

  await expect.poll(() => count(page, 'ranking-count'), { timeout: 120_000 }).toBeGreaterThanOrEqual(5);
  mark('labeler ranked 5');
  // one a second while the reward model and PPO-ptx train: on wasm two tiny PPO-ptx iterations take a few seconds, and the
  // labeler must rank during them
  await page.getByTestId('labeler-pace').fill('60');
  await page.getByTestId('labeler-pace').press('Tab');
  await expect(page.getByTestId('labeler-status')).toContainText('60/min');
  await trainReward(page);
  mark('reward trained');
  await page.getByTestId('tab-ppo').click();
  const before = await count(page, 'ranking-count');
  await page.getByTestId('ppo-run').click();
  await expect
    .poll(
      async () => {
        mark(
          `PPO ${await page.getByTestId('ppo-step-counter').textContent()}, ${await count(page, 'ranking-count')} rankings, ${await count(page, 'ranking-updates')} reward-model updates`,
        );
        return page.getByTestId('ppo-state').textContent();
      },
      { timeout: 180_000, intervals: [10_000] },
    )
    .toBe('done');
  mark('PPO done');
  await expect(page.getByTestId('ppo-step-counter')).toHaveText('2 / 2');
  expect(await count(page, 'ranking-count')).toBeGreaterThan(before);
  await expect(page.getByTestId('ppo-chart-gold')).toBeVisible();
  expect(await points(page, 'ppo-chart-gold')).toBe(2);
  await expect(page.getByTestId('ppo-stats')).toHaveAttribute('data-nonfinite', '');
  for (const id of ['ppo-score', 'ppo-kl', 'ppo-gold'])
    expect(Number.isFinite(Number(await page.getByTestId(id).textContent())), id).toBe(true);

  await page.getByTestId('labeler-select').selectOption('');
  await expect(page.getByTestId('labeler-status')).toHaveCount(0);
  expect(errors()).toEqual([]);
});

test('screenshots of every stage after a short real run (SCREENSHOTS=1 only)', async ({ page }) => {
  test.skip(!SHOTS, 'set SCREENSHOTS=1 to write docs/stage-*.png');
  test.setTimeout(900_000);
  await openApp(page);
  await expectWebGpu(page);
  await tinyModel(page);
  for (const [key, value] of Object.entries({ steps: 12, batch_size: 2, eval_every: 3, sample_every: 6, warmup_steps: 0 }))
    await setSetting(page, 'pretrain', key, value);
  await page.getByTestId('pretrain-run').click();
  await smallSettings(page, 5);
  await page.getByTestId('tab-pretrain').click();
  await expect(page.getByTestId('pretrain-state')).toHaveText('done', { timeout: 120_000 });
  mark('pretrained');
  await page.getByTestId('tab-sft').click();
  await setSetting(page, 'sft', 'demonstrations', 16);
  await page.getByTestId('sft-run').click();
  await expect(page.getByTestId('sft-state')).toHaveText('done', { timeout: 120_000 });
  mark('sft done');
  await page.getByTestId('labeler-controls').locator('summary').click();
  await page.getByTestId('labeler-pace').fill('120');
  await page.getByTestId('labeler-pace').press('Tab');
  await page.getByTestId('labeler-select').selectOption('happy-endings');
  await expect.poll(() => count(page, 'ranking-count'), { timeout: 120_000 }).toBeGreaterThanOrEqual(8);
  await page.getByTestId('labeler-pace').fill('1');
  await page.getByTestId('labeler-pace').press('Tab');
  mark('ranked');
  await page.getByTestId('tab-reward').click();
  await trainReward(page);
  mark('reward trained');
  await page.getByTestId('tab-ppo').click();
  await page.getByTestId('ppo-run').click();
  await expect(page.getByTestId('ppo-state')).toHaveText('done', { timeout: 420_000 });
  mark('ppo done');
  const task = await freshTask(page, 4);
  await page.getByTestId('ranking-item-3').dragTo(page.getByTestId('ranking-item-0'));
  await submitAndCount(page, await count(page, 'ranking-count'));
  await expect(page.getByTestId('ranking-predicted')).toBeVisible({ timeout: 60_000 });
  await freshTask(page, 4, task.id);
  await screenshots(page);
});
