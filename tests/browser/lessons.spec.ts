/**
 * The Lessons tab on wasm (a long flow: see app.ts), at the quick sizes (`?lessonSizes=quick`: a couple of steps per run) on the tiny
 * fixture: a lesson opens from its link, runs to its measured-result sentence, runs again and the two runs
 * overlay on its chart from the runs panel; over-optimisation steps, stops, resumes and shows the samples at the
 * gold peak beside those at the end; the other five start and make their first step (lesson 0: SFT from the shipped
 * pretrained model, its responses before and after).
 */
import { expect, test, type Page } from '@playwright/test';
import { expectWasm, loadTinyIntoLesson, ON_WASM, openApp } from './app';

const LESSON_TIMEOUT = 150_000;

async function runToEnd(page: Page): Promise<void> {
  await page.getByTestId('lesson-run').click();
  await expect(page.getByTestId('lesson-state')).toHaveText('done', { timeout: LESSON_TIMEOUT });
  await expect(page.getByTestId('lesson-summary')).toBeVisible();
}

async function stepOnce(page: Page, counter: RegExp | string): Promise<void> {
  await page.getByTestId('lesson-step').click();
  await expect(page.getByTestId('lesson-step-counter')).toHaveText(counter, { timeout: LESSON_TIMEOUT });
  await expect(page.getByTestId('lesson-state')).toHaveText('paused');
}

test('wasm: a lesson opens from its link, runs to its result sentence, and two runs overlay', async ({ page }) => {
  test.setTimeout(300_000);
  await openApp(page, `${ON_WASM}&lesson=win-rate&lessonSizes=quick`);
  await expectWasm(page);
  await expect(page.getByTestId('lesson-panel')).toHaveAttribute('data-lesson', 'win-rate');
  await expect(page.getByTestId('tab-lessons')).toHaveAttribute('class', /active/);
  await loadTinyIntoLesson(page);

  await runToEnd(page);
  await expect(page.getByTestId('lesson-summary')).toContainText('After 1 PPO iterations the policy wins');
  await expect(page.getByTestId('lesson-step-counter')).toHaveText('1 / 1');
  // the SFT model's point (step 0) and the first iteration's: win rate and its interval
  const chart = page.getByTestId('lesson-chart-win-rate');
  await expect(chart).toHaveAttribute('data-points', '6');

  // again: the first run overlays the second, dashed, from the run history
  await page.getByTestId('lesson-run').click();
  await expect(page.getByTestId('lesson-state')).toHaveText('done', { timeout: LESSON_TIMEOUT });
  await expect(page.getByTestId('lesson:win-rate-runs').getByTestId('run-row')).toHaveCount(2);
  await expect(chart).toHaveAttribute('data-overlays', '1');
  const drawn: { points: number; dashed: boolean }[] = JSON.parse((await chart.getAttribute('data-datasets')) ?? '[]');
  expect(drawn.filter((d) => d.dashed).map((d) => d.points)).toEqual([2, 2, 2]);
  expect(await page.evaluate(() => location.search)).toContain('lesson=win-rate');
});

test('wasm: over-optimisation steps, stops, resumes and shows the samples at the gold peak beside the end; the others start', async ({
  page,
}) => {
  test.setTimeout(420_000);
  await openApp(page, `${ON_WASM}&stage=ppo&lessonSizes=quick`);
  await expectWasm(page);
  await page.getByTestId('tab-lessons').click();
  await page.getByTestId('lesson-item-over-optimisation').click();
  await expect.poll(() => page.evaluate(() => location.search)).toContain('lesson=over-optimisation');
  await loadTinyIntoLesson(page);

  await stepOnce(page, '1 / 3');
  await page.getByTestId('lesson-run').click();
  await page.getByTestId('lesson-pause').click();
  await expect(page.getByTestId('lesson-state')).toHaveText('paused', { timeout: LESSON_TIMEOUT });
  await expect(page.getByTestId('lesson-run')).toHaveText('Resume');
  await runToEnd(page);
  await expect(page.getByTestId('lesson-summary')).toContainText('PPO, beta = 0');
  await expect(page.getByTestId('lesson-chart-gold-vs-kl')).not.toHaveAttribute('data-points', '0');
  const samples = page.getByTestId('lesson-samples').first();
  await expect(samples.getByTestId('lesson-samples-0')).toContainText('highest gold');
  await expect(samples.getByTestId('lesson-samples-1')).toContainText('latest');
  if (process.env.LESSONS_SCREENSHOT) await page.screenshot({ path: 'test-results/lessons-ui.png', fullPage: true });

  // the others start and make their first step (a reward sweep, or the reward model their PPO runs optimise);
  // tests/unit/session-lessons.test.ts runs the rankings lesson whole, lessons-learning.test.ts every lesson
  for (const id of ['rankings', 'kl-frontier', 'k-way', 'alignment-tax']) {
    await page.getByTestId(`lesson-item-${id}`).click();
    await expect(page.getByTestId('lesson-panel')).toHaveAttribute('data-lesson', id);
    await stepOnce(page, /^1 \/ \d+$/);
    await expect(page.getByTestId('lesson-so-far')).toBeVisible();
  }
  // lesson 0 fine-tunes a copy of the shipped pretrained model: its responses before SFT beside those after the step
  await page.getByTestId('lesson-item-instruction-following').click();
  await expect(page.getByTestId('lesson-model-note')).toContainText('From the shipped pretrained model');
  await stepOnce(page, '1 / 2');
  await expect(page.getByTestId('lesson-so-far')).toContainText('Instruction following went from');
  await expect(page.getByTestId('lesson-samples-0')).toContainText('before SFT');
  await expect(page.getByTestId('lesson-samples-1')).toContainText(/after 1 SFT step[\s\S]*follows \d+ of \d+/);
  await expect(page.getByTestId('lesson-chart-following')).not.toHaveAttribute('data-points', '0');
  await page.getByTestId('lesson-item-alignment-tax').click();
  await expect(page.getByTestId('lesson-chart-accuracy')).toHaveCount(0); // alignment-tax has no such chart
  await page.getByTestId('lesson-item-k-way').click();
  // its run was closed when the next lesson began: it is in the run history now, drawn dashed
  await expect(page.getByTestId('lesson-chart-accuracy')).toHaveAttribute('data-points', '0');
  await expect(page.getByTestId('lesson-chart-accuracy')).toHaveAttribute('data-overlays', '1');

  // leaving the lessons for a stage drops the lesson from the address
  await page.getByTestId('tab-sft').click();
  await expect.poll(() => page.evaluate(() => location.search)).not.toContain('lesson=');
});
