/**
 * GRPO on WebGPU (issue 23): the tiny fixture, the instruction-following program as reward (no reward model), 3 steps
 * of 2 prompts × G = 4 completions of 8 tokens, run from its panel; a pause takes effect at a step boundary within
 * 60 s and the step count then stays put; Resume runs it to 3 / 3 with finite figures (the k3 KL too) and no console
 * error. 3 steps, not 5: a step takes 10-20 s on SwiftShader here, the first (its shaders compiled) 30-50 s.
 */
import { expect, test, type Page } from '@playwright/test';
import { expectWebGpu, openApp } from './app';
import { loadTiny } from './live';

type Point = { step: number; kind: string; values: Record<string, number> };
type Client = {
  api: Record<string, (...args: unknown[]) => Promise<unknown>>;
  status: { stages: Record<string, { state: string; step: number; total: number }> };
  metrics: Record<string, Point[]>;
};

const STEPS = 3;
const GRPO = { steps: STEPS, prompts_per_step: 2, group_size: 4, response_length: 8, learning_rate: 1e-3 };

const grpoStatus = (page: Page) =>
  page.evaluate(() => ({ ...(window as unknown as { playground: Client }).playground.status.stages.grpo }));
/** Every metric value GRPO reported that is not a finite number, as "step name=value". */
const nonFinite = (page: Page) =>
  page.evaluate(() =>
    ((window as unknown as { playground: Client }).playground.metrics.grpo ?? []).flatMap((p) =>
      Object.entries(p.values)
        .filter(([, v]) => !Number.isFinite(v))
        .map(([k, v]) => `${p.step} ${k}=${v}`),
    ),
  );

test('webgpu: GRPO on the instruction-following reward runs, pauses at a step boundary, resumes and finishes', async ({ page }) => {
  test.setTimeout(420_000);
  const app = await openApp(page);
  await expectWebGpu(page);
  await loadTiny(page);
  await page.evaluate((s) => (window as unknown as { playground: Client }).playground.api.configure('grpo', s), GRPO);

  await page.getByTestId('tab-grpo').click();
  await page.getByTestId('setting-grpo-reward').selectOption('instruction_following');
  await expect
    .poll(() =>
      page.evaluate(
        () =>
          (window as unknown as { playground: { status: { settings: { grpo: { reward: string } } } } }).playground.status.settings.grpo
            .reward,
      ),
    )
    .toBe('instruction_following');
  await page.getByTestId('grpo-run').click();
  await expect.poll(async () => (await grpoStatus(page)).step, { timeout: 60_000 }).toBeGreaterThanOrEqual(1);

  await page.getByTestId('grpo-pause').click();
  await expect(page.getByTestId('grpo-state')).toHaveText('paused', { timeout: 60_000 });
  const paused = await grpoStatus(page);
  expect(paused).toMatchObject({ state: 'paused', total: STEPS });
  expect(paused.step).toBeLessThan(STEPS);
  await page.waitForTimeout(3_000);
  expect((await grpoStatus(page)).step).toBe(paused.step);
  // the step count is the number of whole steps: the charts reached it and no further
  const trained = await page.evaluate(() =>
    ((window as unknown as { playground: Client }).playground.metrics.grpo ?? []).filter((p) => p.kind === 'train').map((p) => p.step),
  );
  expect(Math.max(...trained)).toBe(paused.step);

  await page.getByTestId('grpo-run').click(); // Resume
  await expect(page.getByTestId('grpo-state')).toHaveText('done', { timeout: 120_000 });
  expect(await grpoStatus(page)).toMatchObject({ state: 'done', step: STEPS, total: STEPS });
  await expect(page.getByTestId('grpo-step-counter')).toHaveText(`${STEPS} / ${STEPS}`);
  // the reward chart draws the reward in use and only it
  const reward = JSON.parse((await page.getByTestId('grpo-chart-reward').getAttribute('data-datasets')) ?? '[]') as { label: string }[];
  expect(reward.map((d) => d.label)).toEqual(['instruction following']);
  // the panel names it, and shows the last step's completions with their rewards
  await expect(page.getByTestId('grpo-reward-kind')).toHaveAttribute('data-reward', 'instruction_following');
  await expect(page.getByTestId('grpo-samples').locator('li').first()).toContainText('reward');
  expect(await nonFinite(page)).toEqual([]);
  // beta = 0.04 (the default): each step measured the k3 KL to the frozen SFT reference, never negative
  const kls = await page.evaluate(() =>
    ((window as unknown as { playground: Client }).playground.metrics.grpo ?? []).filter((p) => p.kind === 'train').map((p) => p.values.kl),
  );
  expect(kls).toHaveLength(STEPS);
  for (const kl of kls) expect(kl).toBeGreaterThanOrEqual(0);
  await expect(page.getByTestId('grpo-stats')).toHaveAttribute('data-nonfinite', '');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  expect(app.consoleErrors).toEqual([]);
});
