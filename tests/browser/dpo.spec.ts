/**
 * DPO on WebGPU (issue 21): rankings by a simulated labeler, DPO run from its panel, a ranking during DPO (its task
 * written by the DPO policy), a reload mid-DPO, and DPO restored paused with its frozen reference: its next step
 * measures the policy against that reference (implicit rewards not 0), and it continues. Tiny model: SwiftShader is slow.
 */
import { expect, test, type Page } from '@playwright/test';
import { expectWebGpu, openApp } from './app';
import { loadTiny, stageState } from './live';

type Point = { step: number; kind: string; values: Record<string, number> };
type Client = {
  api: Record<string, (...args: unknown[]) => Promise<unknown>>;
  status: { stages: Record<string, { state: string; step: number; total: number }> };
  metrics: Record<string, Point[]>;
  lineage: { lineage: string[] };
};

const SCREENSHOT = '/work/scratch/dpoui/dpo.png';

const call = (page: Page, method: string, ...args: unknown[]) =>
  page.evaluate(([m, a]) => (window as unknown as { playground: Client }).playground.api[m as string](...(a as unknown[])), [
    method,
    args,
  ] as const);
const dpoStatus = (page: Page) => page.evaluate(() => ({ ...(window as unknown as { playground: Client }).playground.status.stages.dpo }));
/** The policy's lineage as the model card shows it, newest first. */
const lineage = (page: Page) => page.evaluate(() => (window as unknown as { playground: Client }).playground.lineage.lineage.join(' ← '));
const trainPoints = (page: Page) =>
  page.evaluate(() =>
    (JSON.parse(JSON.stringify((window as unknown as { playground: Client }).playground.metrics.dpo ?? [])) as Point[]).filter(
      (p) => p.kind === 'train',
    ),
  );

/** Moves the first completion of the task on show down one place and submits, by keyboard. */
async function rankByKeyboard(page: Page): Promise<void> {
  const task = page.getByTestId('ranking-task');
  await expect(task).toBeVisible({ timeout: 120_000 });
  const id = await task.getAttribute('data-task-id');
  await page.getByTestId('ranking-item-0').focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(task).not.toHaveAttribute('data-task-id', id!, { timeout: 120_000 });
}

test('webgpu: rank, run DPO, rank during DPO, reload mid-DPO: DPO comes back paused with its reference and continues', async ({ page }) => {
  test.setTimeout(480_000);
  await openApp(page);
  await expectWebGpu(page);
  await loadTiny(page);
  await call(page, 'clearRankings');
  await call(page, 'setLabeler', { labelerId: 'short-answers', agreement: 1, pace: 1, k: 3 });
  for (let i = 0; i < 6; i++) await call(page, 'labelerTick');
  await call(page, 'setLabeler', { labelerId: null, agreement: 1, pace: 1, k: 3 });
  await call(page, 'configure', 'dpo', { epochs: 20, rankings_per_batch: 2, held_out_share: 0.25, response_length: 8 });

  await page.getByTestId('tab-dpo').click();
  await expect(page.getByTestId('dpo-reference')).toHaveAttribute('data-source', 'policy'); // no SFT ran
  await page.getByTestId('dpo-run').click();
  await expect.poll(async () => (await dpoStatus(page)).step, { timeout: 120_000 }).toBeGreaterThanOrEqual(1);
  // before its first update the policy is its reference: every implicit reward is 0
  expect((await trainPoints(page))[0].values).toMatchObject({ 'rewards/chosen': 0, 'rewards/margins': 0 });

  // a ranking during DPO: its task comes from the DPO policy and says so; it is stored at once
  const task = (await call(page, 'nextRankingTask', 3)) as { id: string; origin: string };
  expect(task.origin).toMatch(/^DPO step \d+$/);
  const submitted = (await call(page, 'submitRanking', task.id, [2, 0, 1])) as { counters: { rankings: number } };
  expect(submitted.counters.rankings).toBe(7);
  // by keyboard in the ranking panel: the task on show (written before DPO began), then one the DPO policy wrote
  await rankByKeyboard(page);
  await expect(page.getByTestId('ranking-origin')).toContainText(/written by DPO step \d+/, { timeout: 120_000 });
  await rankByKeyboard(page);
  await expect(page.getByTestId('ranking-count')).toHaveText('9');
  await expect.poll(() => lineage(page)).toMatch(/^DPO step \d+ ← tiny-pretrained\.safetensors$/);

  await expect(page.getByTestId('dpo-samples').locator('dd.ref').first()).toBeVisible({ timeout: 120_000 });
  await expect.poll(async () => (await dpoStatus(page)).step, { timeout: 120_000 }).toBeGreaterThanOrEqual(3);
  await page.getByTestId('dpo-panel').screenshot({ path: SCREENSHOT });
  await call(page, 'saveNow');
  const saved = await dpoStatus(page);
  expect(saved.state).toBe('running');

  page.once('dialog', (d) => void d.accept()); // beforeunload warns while DPO runs
  await page.reload();
  await expect(page.getByTestId('saved-at')).toContainText('restored from', { timeout: 120_000 });
  await expectWebGpu(page);
  const restored = await dpoStatus(page);
  expect(restored.state).toBe('paused');
  expect(restored.step).toBeGreaterThanOrEqual(saved.step);
  await expect.poll(() => lineage(page)).toBe(`DPO step ${restored.step} ← tiny-pretrained.safetensors`);
  expect((await call(page, 'counters')) as { rankings: number }).toMatchObject({ rankings: 9 });

  // it continues from its frozen reference: the next step's implicit rewards are those of a policy that moved from it
  await page.getByTestId('tab-dpo').click();
  await expect(page.getByTestId('dpo-reference')).toContainText('is the policy as DPO found it');
  await page.getByTestId('dpo-step').click();
  await expect.poll(async () => (await dpoStatus(page)).step, { timeout: 120_000 }).toBe(restored.step + 1);
  expect(await stageState(page, 'dpo')).toBe('paused');
  const resumed = (await trainPoints(page)).at(-1)!;
  expect(resumed.step).toBe(restored.step + 1);
  expect(resumed.values['rewards/chosen']).not.toBe(0);
  expect(resumed.values['rewards/margins']).not.toBe(0);
  await expect.poll(() => lineage(page)).toBe(`DPO step ${restored.step + 1} ← tiny-pretrained.safetensors`);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});
