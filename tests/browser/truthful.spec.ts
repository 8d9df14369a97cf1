/**
 * Lines that tell the truth (issue 22, items 3-5), on wasm: after a submit the comparison line says the reward model is
 * learning the ranking until its order arrives (the "train the reward model" line only while none exists); a setting's
 * red message goes once the field holds a valid value again, by typing or by a confirmation from the engine; a file
 * chosen as a checkpoint is checked before the reset dialog, so a PNG or a text file is refused with its cause and
 * never asks, while a valid checkpoint still asks.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { expectWasm, ON_WASM, openApp } from './app';
import { loadTiny, stageState, TINY, trainedReward, type Client } from './live';

const SMALL_PPO = { iterations: 500, batch_size: 4, mini_batch_size: 2, num_ppo_epochs: 2, response_length: 8 };
const NO_MODEL_TEXT = 'Train the reward model to see how it orders the same completions.';

/** Every text the comparison line under the last ranking shows, with its note's kind, once it is about the task on show now. */
async function recordComparison(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { comparisonTexts: string[] }).comparisonTexts = seen;
    const taskId = document.querySelector('[data-testid="ranking-task"]')?.getAttribute('data-task-id');
    const read = () => {
      const last = document.querySelector('[data-testid="ranking-last"]');
      const el = last?.querySelector('.agree');
      if (!el || last?.getAttribute('data-task-id') !== taskId) return;
      const t = `${el.getAttribute('data-note') ?? 'agreement'}: ${el.textContent?.trim()}`;
      if (seen.at(-1) !== t) seen.push(t);
    };
    new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

const comparisonTexts = (page: Page) => page.evaluate(() => (window as unknown as { comparisonTexts: string[] }).comparisonTexts);

test('wasm: after a submit the comparison line says the reward model is learning the ranking until its order arrives', async ({ page }) => {
  test.setTimeout(600_000);
  await openApp(page, ON_WASM);
  await expectWasm(page);
  await loadTiny(page);

  // no reward model yet: the line asks to train one
  await page.getByTestId('tab-reward').click();
  await expect(page.getByTestId('ranking-task')).toBeVisible({ timeout: 120_000 });
  await page.getByTestId('ranking-submit').click();
  await expect(page.getByTestId('ranking-note')).toHaveAttribute('data-note', 'no-model');
  await expect(page.getByTestId('ranking-note')).toHaveText(NO_MODEL_TEXT);

  // a trained reward model, PPO-ptx running (the engine busy, as when a person ranks during it)
  await trainedReward(page, SMALL_PPO);
  await page.getByTestId('tab-ppo').click();
  await page.getByTestId('ppo-run').click();
  await expect.poll(() => stageState(page, 'ppo'), { timeout: 60_000 }).toBe('running');
  await expect(page.getByTestId('ranking-task')).toBeVisible({ timeout: 120_000 });
  await recordComparison(page);
  await page.getByTestId('ranking-submit').click();
  await expect(page.getByTestId('ranking-agreement')).toBeVisible({ timeout: 300_000 });
  const seen = await comparisonTexts(page);
  expect(seen[0]).toMatch(/^learning: The reward model is learning your ranking…/);
  expect(seen.at(-1)).toMatch(/^agreement: The reward model \(after this update\) puts \d+ of 6 pairs your way\./);
  expect(seen.join(' | ')).not.toContain(NO_MODEL_TEXT);
  expect(seen.join(' | ')).not.toContain('in-run');
  await page.getByTestId('ppo-pause').click();
  await expect.poll(() => stageState(page, 'ppo'), { timeout: 120_000 }).toBe('paused');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});

test('a setting error clears once the field holds a valid value again: the kept value typed back, a confirmation from the engine', async ({
  page,
}) => {
  await openApp(page, ON_WASM);
  await page.getByTestId('tab-ppo').click();
  const kl = page.getByTestId('setting-ppo-kl_coef');
  const klError = page.getByTestId('error-ppo-kl_coef');
  await kl.fill('11');
  await kl.press('Tab');
  await expect(klError).toContainText('Kept 0.05');
  await expect(kl).toHaveValue('0.05');
  // the kept value typed back fires no change event (the field held it already): the message goes all the same
  await kl.fill('0.05');
  await kl.press('Tab');
  await expect(klError).toHaveCount(0);
  await expect(kl).not.toHaveAttribute('aria-invalid', 'true');

  // a rule between settings, refused by the engine: the kept value typed back clears it too
  const minibatch = page.getByTestId('setting-ppo-mini_batch_size');
  const minibatchError = page.getByTestId('error-ppo-mini_batch_size');
  await minibatch.fill('32');
  await minibatch.press('Tab');
  await expect(minibatchError).toContainText('Minibatch (32) must not be larger');
  await minibatch.fill('8');
  await expect(minibatchError).toHaveCount(0);
  await minibatch.press('Tab');

  // refused again, then the engine confirms the settings by another route (as a link or a lesson does): the message goes
  await kl.fill('11');
  await kl.press('Tab');
  await expect(klError).toContainText('Kept 0.05');
  await page.evaluate(async () => {
    const pg = (window as unknown as { playground: Client & { refresh(): Promise<void> } }).playground;
    await pg.api.configure('ppo', { kl_coef: 0.1 });
    await pg.refresh();
  });
  await expect(kl).toHaveValue('0.1');
  await expect(klError).toHaveCount(0);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});

test('wasm: a PNG or a text file chosen as a checkpoint is refused with its cause and never asks; a valid checkpoint asks', async ({
  page,
}) => {
  await openApp(page, ON_WASM);
  await expectWasm(page);
  await loadTiny(page);
  // progress that a load would reset, so that a load asks first
  await page.evaluate(() => (window as unknown as { playground: Client }).playground.api.step('pretrain'));
  await expect.poll(() => stageState(page, 'pretrain')).toBe('paused');
  await page.getByTestId('tab-pretrain').click();
  const modelBefore = await page.getByTestId('model-info').textContent();

  const upload = page.getByTestId('checkpoint-upload');
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1, 0, 0, 0, 1]);
  await upload.setInputFiles({ name: 'cat.png', mimeType: 'image/png', buffer: png });
  await expect(page.getByTestId('model-error')).toContainText('Cannot load this checkpoint: the header length does not fit the file');
  await expect(page.getByTestId('reset-dialog')).toHaveCount(0);

  await upload.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('my notes on RLHF, not a model at all\n') });
  await expect(page.getByTestId('model-error')).toContainText('Cannot load this checkpoint');
  await expect(page.getByTestId('reset-dialog')).toHaveCount(0);
  await expect(page.getByTestId('model-info')).toHaveText(modelBefore!);
  expect(await stageState(page, 'pretrain')).toBe('paused');

  // a valid checkpoint passes the check and asks before it resets anything; cancel keeps everything
  await upload.setInputFiles({ name: 'tiny-again.safetensors', mimeType: 'application/octet-stream', buffer: readFileSync(TINY) });
  await expect(page.getByTestId('reset-dialog')).toBeVisible();
  await expect(page.getByTestId('reset-losses')).toContainText('Pretrain: step 1');
  await expect(page.getByTestId('model-error')).toHaveCount(0);
  await page.getByTestId('reset-cancel').click();
  await expect(page.getByTestId('reset-dialog')).toHaveCount(0);
  await expect(page.getByTestId('model-info')).toHaveText(modelBefore!);
  expect(await stageState(page, 'pretrain')).toBe('paused');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});
