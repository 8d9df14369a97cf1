/**
 * Run history in the browser on wasm (a long flow: see app.ts): a link restores the stage and its settings (a bad value is refused
 * with a message), pretraining runs twice from the tiny fixture with two learning rates, the two runs overlay
 * on one chart labelled by the learning rate, a run downloads as CSV and the chart as PNG, a run hides and
 * is deleted after a confirmation, and the rest outlive a reload.
 */
import { expect, test, type Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { expectWasm, ON_WASM, openApp, setSetting } from './app';

const TINY = 'tests/fixtures/tiny-pretrained.safetensors';
const LINK =
  `${ON_WASM}&stage=pretrain&pretrain.steps=2&pretrain.batch_size=2&pretrain.eval_every=2&pretrain.eval_batches=1` +
  `&pretrain.warmup_steps=0&pretrain.learning_rate=0.001&sft.epochs=abc`;

interface Drawn {
  label: string;
  points: number;
  dashed: boolean;
  color: string;
}

const drawn = async (page: Page, testid: string): Promise<Drawn[]> =>
  JSON.parse((await page.getByTestId(testid).getAttribute('data-datasets')) ?? '[]');

async function runPretrain(page: Page): Promise<void> {
  await page.getByTestId('pretrain-run').click();
  await expect(page.getByTestId('pretrain-state')).toHaveText('done', { timeout: 120_000 });
  await expect(page.getByTestId('pretrain-step-counter')).toHaveText('2 / 2');
}

test('wasm: two pretraining runs overlay, labelled by their learning rates; CSV, PNG, hide, delete; stage and settings from the URL', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await openApp(page, LINK);
  await expectWasm(page);

  // the link's stage and settings are restored through configure; its bad value is named and refused, the others apply
  await expect(page.getByTestId('pretrain-panel')).toBeVisible();
  await expect(page.getByTestId('setting-pretrain-learning_rate')).toHaveValue('0.001');
  await expect(page.getByTestId('setting-pretrain-steps')).toHaveValue('2');
  await expect(page.getByTestId('error-banner')).toContainText('Epochs must be a number');
  await page.getByTestId('error-banner').getByRole('button', { name: 'Dismiss' }).click();

  await page.getByTestId('checkpoint-upload').setInputFiles(TINY);
  await expect(page.getByTestId('model-info')).toContainText('tiny-pretrained', { timeout: 60_000 });

  // run 1 at 0.001; Reset restores the fixture's weights; run 2 at 0.01
  await runPretrain(page);
  await expect(page.getByTestId('run-row')).toHaveCount(1);
  await page.getByTestId('pretrain-reset').click();
  await expect(page.getByTestId('pretrain-state')).toHaveText('not-started');
  await setSetting(page, 'pretrain', 'learning_rate', 0.01);
  await expect.poll(() => page.evaluate(() => location.search)).toContain('pretrain.learning_rate=0.01');
  await runPretrain(page);

  // both runs on one chart: the live one solid, the other dashed in its colour, each labelled by its learning rate
  const rows = page.getByTestId('run-row');
  await expect(rows).toHaveCount(2);
  await expect(rows.nth(0)).toHaveAttribute('data-label', 'Learning rate 0.001');
  await expect(rows.nth(1)).toHaveAttribute('data-label', 'Learning rate 0.01');
  await expect(page.getByTestId('pretrain-chart')).toHaveAttribute('data-overlays', '1');
  await expect
    .poll(async () => (await drawn(page, 'pretrain-chart')).map((d) => [d.label, d.points, d.dashed]))
    .toEqual([
      ['train · Learning rate 0.01', 2, false],
      ['validation · Learning rate 0.01', 1, false],
      ['train · Learning rate 0.001', 2, true],
      ['validation · Learning rate 0.001', 1, true],
    ]);
  const colors = (await drawn(page, 'pretrain-chart')).map((d) => d.color);
  expect(colors[2]).toBe(await rows.nth(0).getByTestId('run-color').inputValue());
  expect(colors[2]).not.toBe(colors[0]);

  // run 1 as CSV: a step column, then one column per metric, a row per step
  const [csv] = await Promise.all([page.waitForEvent('download'), rows.nth(0).getByTestId('run-csv').click()]);
  expect(csv.suggestedFilename()).toBe('pretrain_1.csv');
  const lines = readFileSync((await csv.path())!, 'utf8')
    .trim()
    .split('\n');
  expect(lines[0]).toMatch(/^step,pretrain\/loss,/);
  expect(lines[0]).toContain('pretrain/val_loss');
  expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(['1', '2']);

  // the chart as PNG
  const [png] = await Promise.all([page.waitForEvent('download'), page.getByTestId('pretrain-chart-png').click()]);
  expect(png.suggestedFilename()).toBe('pretrain-chart.png');
  expect([...readFileSync((await png.path())!).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

  // hide run 1: its lines leave the chart; delete asks first
  await rows.nth(0).getByTestId('run-visible').uncheck();
  await expect(page.getByTestId('pretrain-chart')).toHaveAttribute('data-overlays', '0');
  await rows.nth(0).getByTestId('run-delete').click();
  await rows.nth(0).getByTestId('run-delete-cancel').click();
  await expect(rows).toHaveCount(2);
  await rows.nth(0).getByTestId('run-delete').click();
  await rows.nth(0).getByTestId('run-delete-confirm').click();
  await expect(rows).toHaveCount(1);

  // rename the other; after a reload it is still there (IndexedDB), and the URL brings back its learning rate
  await rows.nth(0).getByTestId('run-name').fill('fast');
  await rows.nth(0).getByTestId('run-name').press('Enter');
  await expect(rows.nth(0).getByTestId('run-name')).toHaveValue('fast');
  await expect
    .poll(() =>
      page.evaluate(() =>
        (window as unknown as { playground: { api: { listRuns(): Promise<{ name: string }[]> } } }).playground.api
          .listRuns()
          .then((r) => r.map((x) => x.name)),
      ),
    )
    .toEqual(['fast']);
  await page.reload();
  await expect(page.getByTestId('setting-pretrain-learning_rate')).toHaveValue('0.01', { timeout: 120_000 });
  await expect(rows).toHaveCount(1);
  await expect(rows.nth(0)).toHaveAttribute('data-state', 'done');
  await expect(rows.nth(0).getByTestId('run-name')).toHaveValue('fast');
});
