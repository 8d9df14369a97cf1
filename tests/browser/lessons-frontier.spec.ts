/**
 * The frontier lesson on WebGPU (asserted: a silent fallback would not test it), at the quick sizes on the tiny fixture:
 * it runs to its measured-result sentence, and its chart draws all four methods' curves (best-of-n, PPO-ptx, DPO, GRPO)
 * with best-of-n's dashed fitted curve (and the others' where their points allow one). tests/unit/lessons-frontier.test.ts checks the figures.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { expectWebGpu, openApp } from './app';

const TINY = [...readFileSync('tests/fixtures/tiny-pretrained.safetensors')];
const METHODS = ['best-of-n', 'PPO-ptx', 'DPO', 'GRPO'];

test('webgpu: the frontier lesson draws the four methods’ curves of gold against sqrt(KL), and best-of-n’s fit', async ({ page }) => {
  test.setTimeout(240_000);
  await openApp(page, '?lesson=method-frontier&lessonSizes=quick');
  await expectWebGpu(page);
  await expect(page.getByTestId('lesson-panel')).toHaveAttribute('data-lesson', 'method-frontier');
  await page.evaluate(async (bytes) => {
    const api = (window as unknown as { playground: { api: { importCheckpoint(b: Uint8Array, n: string): Promise<unknown> } } }).playground
      .api;
    await api.importCheckpoint(new Uint8Array(bytes), 'tiny-pretrained');
  }, TINY);
  await expect(page.getByTestId('lesson-explanation')).toBeVisible();
  await page.getByTestId('lesson-run').click();
  await expect(page.getByTestId('lesson-state')).toHaveText('done', { timeout: 220_000 });
  await expect(page.getByTestId('lesson-summary')).toContainText('Held-out gold (start → end)');

  const chart = page.getByTestId('lesson-chart-gold-vs-kl');
  const drawn: { label: string; points: number; dashed: boolean }[] = JSON.parse((await chart.getAttribute('data-datasets')) ?? '[]');
  const measured = drawn.filter((d) => !d.dashed);
  expect(measured.map((d) => d.label)).toEqual(METHODS.map((m) => expect.stringContaining(m)));
  // best-of-n at n = 1, 2, 4; the policy runs before their first step and after each of two
  for (const d of measured) expect(d.points, d.label).toBe(3);
  // best-of-n's fit always (its KL, the closed form, differs at each n); a policy run's where its three points can be
  // fitted (a KL estimate at or below 0 sits at d = 0)
  const fits = drawn.filter((d) => d.dashed);
  expect(fits[0].label).toContain('best-of-n');
  for (const d of fits) {
    expect(
      METHODS.some((m) => d.label.includes(`${m}`) && d.label.includes('fit')),
      d.label,
    ).toBe(true);
    expect(d.points, d.label).toBeGreaterThan(10);
  }
});
