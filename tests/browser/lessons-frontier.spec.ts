/**
 * The frontier lesson on WebGPU (asserted: a silent fallback would not test it), at the quick sizes on the tiny fixture:
 * it runs to its measured-result sentence, and its chart draws all four methods' curves (best-of-n, PPO-ptx, DPO, GRPO)
 * with best-of-n's dashed fitted curve; one step per policy run (the quick sizes). tests/unit/lessons-frontier.test.ts checks the figures.
 */
import { expect, test } from '@playwright/test';
import { expectWebGpu, loadTinyIntoLesson, openApp } from './app';

const METHODS = ['best-of-n', 'PPO-ptx', 'DPO', 'GRPO'];

test('webgpu: the frontier lesson draws the four methods’ curves of gold against sqrt(KL), and best-of-n’s fit', async ({ page }) => {
  test.setTimeout(420_000);
  await openApp(page, '?lesson=method-frontier&lessonSizes=quick');
  await expectWebGpu(page);
  await expect(page.getByTestId('lesson-panel')).toHaveAttribute('data-lesson', 'method-frontier');
  await loadTinyIntoLesson(page);
  await page.getByTestId('lesson-run').click();
  await expect(page.getByTestId('lesson-state')).toHaveText('done', { timeout: 400_000 });
  await expect(page.getByTestId('lesson-summary')).toContainText('Held-out gold (start → end)');

  const chart = page.getByTestId('lesson-chart-gold-vs-kl');
  const drawn: { label: string; points: number; dashed: boolean }[] = JSON.parse((await chart.getAttribute('data-datasets')) ?? '[]');
  const measured = drawn.filter((d) => !d.dashed);
  expect(measured.map((d) => d.label)).toEqual(METHODS.map((m) => expect.stringContaining(m)));
  // best-of-n at n = 1, 2, 4; the policy runs before their one step and after it
  expect(measured.map((d) => d.points)).toEqual([3, 2, 2, 2]);
  // best-of-n's three points take a fit (two points do not: tests/unit/lessons-frontier.test.ts fits every method)
  const fits = drawn.filter((d) => d.dashed);
  expect(fits.map((d) => d.label)).toEqual([expect.stringContaining('best-of-n (n = 1 … 4): fit')]);
  expect(fits[0].points).toBeGreaterThan(10);
});
