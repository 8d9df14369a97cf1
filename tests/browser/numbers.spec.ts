/**
 * Issue 22, items 6 and 7, on wasm with the tiny fixture: SFT's sample panel fills while SFT runs, and every number says
 * what it counts: the reward model's steps against its plan after incremental updates, PPO-ptx's sampling phase in
 * response tokens of response_length, each sample's KL badge named k3 and never negative, and the SFT card's figure
 * for runs with SFT's defaults as a mean and range over seeds (from sft.json).
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { expectWasm, ON_WASM, openApp } from './app';
import { loadTiny, stageState, trainedReward, type Client } from './live';

const RESPONSE_LENGTH = 8;
const SMALL_PPO = { iterations: 500, batch_size: 4, mini_batch_size: 2, num_ppo_epochs: 1, response_length: RESPONSE_LENGTH };
const UPDATE_STEPS = 2;

const call = (page: Page, method: string, ...args: unknown[]) =>
  page.evaluate(([m, a]) => (window as unknown as { playground: Client }).playground.api[m as string](...(a as unknown[])), [method, args]);

/** Every distinct text the elements with these test ids show from now on, in window.seenTexts[id]. */
async function recordTexts(page: Page, ids: string[]): Promise<void> {
  await page.evaluate((ids) => {
    const seen: Record<string, string[]> = Object.fromEntries(ids.map((id) => [id, []]));
    (window as unknown as { seenTexts: Record<string, string[]> }).seenTexts = seen;
    const read = () => {
      for (const id of ids) {
        const t = document.querySelector(`[data-testid="${id}"]`)?.textContent?.replace(/\s+/g, ' ').trim();
        if (t && seen[id].at(-1) !== t) seen[id].push(t);
      }
    };
    new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true });
  }, ids);
}

const seenTexts = (page: Page, id: string) =>
  page.evaluate((i) => (window as unknown as { seenTexts: Record<string, string[]> }).seenTexts[i], id);

test('wasm: SFT shows samples while it runs; reward steps, the sampling phase and the KL badge say what they count', async ({ page }) => {
  test.setTimeout(600_000);
  await openApp(page, ON_WASM);
  await expectWasm(page);
  await loadTiny(page);

  // SFT, 24 steps: its sample panel fills after the first step, while the state still reads "running"
  await call(page, 'configure', 'sft', { epochs: 1, demonstrations: 96, batch_size: 4, instruction_prompts: 0 });
  await page.getByTestId('tab-sft').click();
  await expect(page.getByTestId('sft-samples')).toContainText('Samples appear here while the stage runs');
  const over = JSON.parse(readFileSync('public/checkpoints/sft.json', 'utf8')).following.defaultsOverSeeds;
  const pct = (x: number) => `${Math.round(100 * x)} %`;
  await expect(page.getByTestId('sft-shipped-defaults')).toHaveText(
    `runs with these defaults ${pct(over.mean)} on average over ${over.seeds.length} seeds, ${pct(over.min)} to ${pct(over.max)}`,
  );
  await recordTexts(page, ['sft-samples', 'sft-state']);
  await page.evaluate(() => {
    // the state at the moment the first sample shows
    const w = window as unknown as { stateWhenSampled?: string };
    new MutationObserver((_, observer) => {
      if (!document.querySelector('[data-testid="sft-samples"] li')) return;
      w.stateWhenSampled = document.querySelector('[data-testid="sft-state"]')?.textContent?.trim();
      observer.disconnect();
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await page.getByTestId('sft-run').click();
  await expect(page.getByTestId('sft-state')).toHaveText('done', { timeout: 300_000 });
  expect(await page.evaluate(() => (window as unknown as { stateWhenSampled?: string }).stateWhenSampled)).toBe('running');
  const sftSamples = await seenTexts(page, 'sft-samples');
  expect(sftSamples.find((t) => /Samples at step 1\b/.test(t))).toContain('Instruction:');
  expect(sftSamples.some((t) => /Samples at step 16\b/.test(t))).toBe(true); // refreshed every 16 steps
  await expect(page.getByTestId('sft-samples').locator('li')).toHaveCount(3);

  // the reward model: after an incremental update its counter adds the update's steps to the planned ones
  await trainedReward(page, SMALL_PPO, 6, { epochs: 1, rankings_per_batch: 2, held_out_share: 0.25, update_steps: UPDATE_STEPS });
  await page.getByTestId('tab-reward').click();
  const planned = Number(((await page.getByTestId('reward-step-counter').textContent()) ?? '').split('/')[1]);
  expect(planned).toBeGreaterThan(0);
  await expect(page.getByTestId('reward-step-counter')).toHaveText(`${planned} / ${planned}`);
  const task = (await call(page, 'nextRankingTask', 3)) as { id: string };
  await call(page, 'submitRanking', task.id, [2, 0, 1]);
  await expect(page.getByTestId('reward-updates')).toHaveText('1', { timeout: 120_000 });
  await expect(page.getByTestId('reward-step-counter')).toHaveText(`${planned} / ${planned} + ${UPDATE_STEPS} in updates`);
  // its charts count the same steps: the last point is at planned + update steps
  await expect(page.getByTestId('reward-last-step')).toHaveText(String(planned + UPDATE_STEPS));

  // PPO-ptx: the sampling phase counts response tokens of response_length; each sample's KL badge is k3, never negative
  await page.getByTestId('tab-ppo').click();
  await recordTexts(page, ['ppo-phase', 'ppo-step-counter']);
  await page.getByTestId('ppo-run').click();
  await expect.poll(() => stageState(page, 'ppo'), { timeout: 60_000 }).toBe('running');
  await expect(page.getByTestId('ppo-sample-0-kl')).toBeVisible({ timeout: 300_000 });
  const ppoStep = () => page.evaluate(() => (window as unknown as { playground: Client }).playground.status.stages.ppo.step);
  await expect.poll(ppoStep, { timeout: 300_000 }).toBeGreaterThanOrEqual(2);
  await page.getByTestId('ppo-pause').click();
  await expect.poll(() => stageState(page, 'ppo'), { timeout: 120_000 }).toBe('paused');

  const phases = [...(await seenTexts(page, 'ppo-phase')), ...(await seenTexts(page, 'ppo-step-counter'))];
  const sampling = phases.flatMap((t) => [...t.matchAll(/sampling rollouts (\d+)\/(\d+) tokens/g)]);
  expect(sampling.length, phases.join(' | ')).toBeGreaterThan(0);
  for (const [text, done, total] of sampling) {
    expect(Number(total), text).toBe(RESPONSE_LENGTH);
    expect(Number(done), text).toBeLessThanOrEqual(RESPONSE_LENGTH);
  }
  const badges = page.locator('[data-testid^="ppo-sample-"][data-testid$="-kl"]');
  expect(await badges.count()).toBeGreaterThan(0);
  for (const badge of await badges.all()) {
    await expect(badge).toHaveText(/^KL k3 \d+\.\d\d$/);
    expect(Number(await badge.getAttribute('data-kl'))).toBeGreaterThanOrEqual(0);
    await expect(badge).toHaveAttribute('title', /k3 estimate.*never negative/);
  }
});
