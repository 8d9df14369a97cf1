/**
 * The live loop (issue #9): a submit never waits (timed during PPO-ptx, on WebGPU and on wasm), tasks come from the
 * newest policy and say which model wrote them, every wait is explained (PPO's phases, "pausing…"), SFT reports its
 * validation loss while it runs, nothing is reset without asking, the landing starts the lesson, a refused setting
 * goes back to the value in use.
 */
import { readFileSync } from 'node:fs';
import { expect, test, type Page } from '@playwright/test';
import { expectWasm, expectWebGpu, ON_WASM, openApp } from './app';
import {
  iterationFigures,
  loadTiny,
  percentile,
  recordStatus,
  report,
  stageState,
  statusMarks,
  timedPause,
  timedResume,
  timedSubmits,
  trainedReward,
  untilStepEnds,
  type Client,
} from './live';

const SMALL_PPO = { iterations: 500, batch_size: 4, mini_batch_size: 2, num_ppo_epochs: 2, response_length: 8 };
/** A generous regression bound: the target is 150 ms; a loaded CI machine may add to it. */
const SUBMIT_P95_BOUND_MS = 1000;
/** Generous bounds on the gap between iterations, a pause and a resume: the targets are 2 s (scripts/measure-live.ts). */
const GAP_BOUND_MS = 10_000;
const PAUSE_BOUND_MS = 5000;
const RESUME_BOUND_MS = 5000;

/** Every text the PPO step counter shows from now on (it flickers through the phases of the first iteration). */
async function recordCounter(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { counterTexts: string[] }).counterTexts = seen;
    const read = () => {
      const t = document.querySelector('[data-testid="ppo-step-counter"]')?.textContent?.trim();
      if (t && seen.at(-1) !== t) seen.push(t);
    };
    new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
}

for (const backend of ['webgpu', 'wasm'] as const) {
  test(`${backend}: during PPO-ptx a submit shows the next task at once; rankings wait for the reward model and are applied at an iteration; pause explains itself`, async ({
    page,
  }) => {
    test.setTimeout(900_000);
    await openApp(page, backend === 'wasm' ? ON_WASM : '');
    if (backend === 'webgpu') await expectWebGpu(page);
    else await expectWasm(page);
    await loadTiny(page);
    await trainedReward(page, SMALL_PPO);

    await page.getByTestId('tab-ppo').click();
    await recordCounter(page);
    await page.getByTestId('ppo-run').click();
    await expect.poll(() => stageState(page, 'ppo'), { timeout: 60_000 }).toBe('running');
    // before the first iteration, the counter says what PPO does instead of "0 / 500"
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { counterTexts: string[] }).counterTexts.join(' | ')), { timeout: 120_000 })
      .toMatch(/sampling rollouts \d+\/\d+/);

    const rankedBefore = await page.evaluate(() =>
      ((window as unknown as { playground: Client }).playground.api.counters() as Promise<{ rankings: number }>).then((c) => c.rankings),
    );
    const latencies = await timedSubmits(page, 20, 1500);
    const figures = { p50: percentile(latencies, 50), p95: percentile(latencies, 95), max: Math.max(...latencies), n: latencies.length };
    report('submit-latency.json', { [`${backend}-tiny-during-ppo`]: figures });
    expect(await stageState(page, 'ppo')).toBe('running');
    // The p95 target is wasm's (the slowest path users get). On SwiftShader, a software GPU slower than wasm here, a
    // submit every 1.5 s outruns the task supply (p95 21 s in CI), so there the bound is on the median: a submit
    // with a spare in hand shows it at once. Every ranking is stored at once on both (counted below).
    expect(backend === 'wasm' ? figures.p95 : figures.p50).toBeLessThan(SUBMIT_P95_BOUND_MS);

    // the task on show comes from the newest policy and says so
    await expect(page.getByTestId('ranking-origin')).toContainText(/PPO-ptx iteration \d+/);
    const shownIteration = Number((await page.getByTestId('ranking-origin').textContent())?.match(/iteration (\d+)/)?.[1]);
    const liveIteration = await page.evaluate(() => (window as unknown as { playground: Client }).playground.status.stages.ppo.step);
    expect(shownIteration).toBeGreaterThanOrEqual(liveIteration - 2);
    // the 20 rankings reached the reward model at an iteration boundary; its scores of the last one show
    await expect(page.getByTestId('ranking-applied')).toContainText(/at PPO iteration \d+/, { timeout: 300_000 });
    await expect(page.getByTestId('ranking-predicted')).toBeVisible({ timeout: 120_000 });
    const counters = await page.evaluate(
      () =>
        (window as unknown as { playground: Client }).playground.api.counters() as Promise<{ rankings: number; waitingForReward: number }>,
    );
    expect(counters.waitingForReward).toBe(0);
    expect(counters.rankings).toBe(rankedBefore + 20);

    // pause: "pausing" from the click, "paused" at the next minibatch boundary, and the counter stays true
    await expect(page.getByTestId('ppo-phase')).toBeVisible();
    const pause = await timedPause(page, 'ppo');
    report('pause-latency.json', { [`${backend}-tiny`]: pause });
    expect(pause.pausingShownMs).toBeGreaterThanOrEqual(0);
    expect(pause.pausedMs).toBeLessThan(30_000);
    const after = await page.evaluate(() => {
      const pg = (window as unknown as { playground: Client }).playground;
      return { step: pg.status.stages.ppo.step, points: pg.metrics.ppo.filter((p) => p.kind === 'train').length };
    });
    expect(after.step).toBe(after.points);
    await page.waitForTimeout(3000);
    expect(await page.evaluate(() => (window as unknown as { playground: Client }).playground.status.stages.ppo.step)).toBe(after.step);
    await expect(page.getByTestId('error-banner')).toHaveCount(0);
  });
}

test('wasm: between PPO-ptx iterations the reward-model update, the refill and the sample stream are named and run beside the next; pause and resume anywhere within bounds, "resuming…" meanwhile', async ({
  page,
}) => {
  test.setTimeout(900_000);
  await openApp(page, ON_WASM);
  await expectWasm(page);
  await loadTiny(page);
  await trainedReward(page, SMALL_PPO);
  await page.getByTestId('tab-ppo').click();
  await page.getByTestId('ppo-run').click();
  await expect.poll(() => stageState(page, 'ppo'), { timeout: 60_000 }).toBe('running');
  await recordStatus(page, 'ppo');
  const marks = () => statusMarks(page);
  // rankings arrive as a person ranks: the updates between iterations learn them, each step named
  await timedSubmits(page, 6, 800);
  await expect.poll(async () => (await marks()).some((m) => m.aside.includes('reward-update')), { timeout: 300_000 }).toBe(true);
  await expect.poll(async () => (await marks()).some((m) => m.aside.includes('tasks')), { timeout: 120_000 }).toBe(true);

  const pauses: number[] = [];
  const resumes: { resumingShown: boolean; runningMs: number }[] = [];
  for (const where of ['after the last update', 'update', 'sampling']) {
    await timedSubmits(page, 2, 300);
    if (where === 'after the last update') await untilStepEnds(page, 'ppo');
    else await expect(page.getByTestId('ppo-phase')).toHaveAttribute('data-phase', where, { timeout: 120_000 });
    pauses.push((await timedPause(page, 'ppo')).pausedMs);
    // rankings that waited go to the reward model now, in the background; Resume does not wait for them
    await timedSubmits(page, 2, 300);
    resumes.push(await timedResume(page, 'ppo'));
  }
  await untilStepEnds(page, 'ppo');
  await untilStepEnds(page, 'ppo');
  const { gapsMs, gapPhases } = iterationFigures(await marks());
  report('live-gap.json', { 'wasm-tiny': { gapsMs, gapPhases, pauses, resumes } });
  expect(gapsMs.length).toBeGreaterThan(0);
  expect(Math.max(...gapsMs)).toBeLessThan(GAP_BOUND_MS);
  // nothing holds the next iteration up: the update, the refill and the sample stream run beside it
  expect(gapPhases.filter((p) => !['update', 'ptx', '(none)'].includes(p))).toEqual([]);
  for (const ms of pauses) expect(ms).toBeLessThan(PAUSE_BOUND_MS);
  for (const r of resumes) {
    expect(r.runningMs).toBeLessThan(RESUME_BOUND_MS);
    expect(r.resumingShown).toBe(true);
  }
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});

test('wasm: before the first reward model, spares are sampled behind each task: a person ranking every 2 s never waits', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await openApp(page, ON_WASM);
  await expectWasm(page);
  await loadTiny(page);
  await page.getByTestId('tab-reward').click();
  const queued = () =>
    page.evaluate(() =>
      ((window as unknown as { playground: Client }).playground.api.counters() as Promise<{ queued: number }>).then((c) => c.queued),
    );
  await expect.poll(queued, { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  const latencies = await timedSubmits(page, 10, 2000);
  report('submit-latency.json', { 'wasm-tiny-before-reward': { p95: percentile(latencies, 95), max: Math.max(...latencies) } });
  expect(percentile(latencies, 95)).toBeLessThan(SUBMIT_P95_BOUND_MS);
  await expect.poll(queued, { timeout: 120_000 }).toBeGreaterThanOrEqual(2);
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});

test('wasm: SFT reports validation while it runs; its end replaces older tasks; the lineage names it; a new corpus asks first, offers a download and clears the charts', async ({
  page,
}) => {
  test.setTimeout(600_000);
  await openApp(page, ON_WASM);
  await expectWasm(page);
  await loadTiny(page);
  await page.getByTestId('tab-sft').click();
  await expect(page.getByTestId('ranking-origin')).toContainText('tiny-pretrained', { timeout: 120_000 });
  await page.evaluate(() =>
    (window as unknown as { playground: Client }).playground.api.configure('sft', {
      epochs: 1,
      demonstrations: 24,
      batch_size: 4,
      instruction_prompts: 4,
    }),
  );
  await page.getByTestId('sft-run').click();
  await expect(page.getByTestId('sft-state')).toHaveText('done', { timeout: 300_000 });
  // validation before the first step (where SFT starts from), at step 5 and at the end (6), not only at the end
  const evalSteps = await page.evaluate(() =>
    (window as unknown as { playground: { metrics: Record<string, { step: number; kind: string }[]> } }).playground.metrics.sft
      .filter((p) => p.kind === 'eval')
      .map((p) => p.step),
  );
  expect(evalSteps).toEqual([0, 5, 6]);
  // the untouched pre-SFT task gave way to one written by the SFT model
  await expect(page.getByTestId('ranking-origin')).toHaveText('written by SFT', { timeout: 120_000 });
  await page.getByTestId('tab-pretrain').click();
  await expect(page.getByTestId('model-lineage')).toHaveText('SFT ← tiny-pretrained.safetensors');

  // a new corpus: asked in the page, cancel keeps everything
  await page.getByTestId('corpus-builtin').click();
  await expect(page.getByTestId('reset-dialog')).toBeVisible();
  await expect(page.getByTestId('reset-losses')).toContainText('SFT: done');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('reset-download').click()]);
  expect(download.suggestedFilename()).toMatch(/\.safetensors$/);
  await page.getByTestId('reset-cancel').click();
  await expect(page.getByTestId('reset-dialog')).toHaveCount(0);
  expect(await stageState(page, 'sft')).toBe('done');
  // confirmed: SFT is reset, its charts are cleared, the lineage is the checkpoint's alone
  await page.getByTestId('corpus-builtin').click();
  await page.getByTestId('reset-confirm').click();
  await expect.poll(() => stageState(page, 'sft')).toBe('not-started');
  await expect(page.getByTestId('model-lineage')).toHaveText('tiny-pretrained.safetensors');
  await page.getByTestId('tab-sft').click();
  await expect(page.getByTestId('sft-stats')).toHaveAttribute('data-points', '0');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});

test('the landing starts the lesson: pretraining is done by the shipped checkpoint, and a guide points on (dismissed for good)', async ({
  page,
}) => {
  // the figures of the report beside the shipped checkpoint (scripts/pretrain.ts writes both)
  const shipped = JSON.parse(readFileSync('public/checkpoints/default.json', 'utf8')) as { valLoss: number; steps: number };
  await openApp(page);
  await expect(page.getByTestId('tab-pretrain')).toContainText(`done: shipped checkpoint (val loss ${shipped.valLoss.toFixed(3)})`);
  await expect(page.getByTestId('pretrain-shipped')).toContainText(`${shipped.steps.toLocaleString('en')} steps`);
  await expect(page.getByTestId('lesson-guide')).toBeVisible();
  await page.getByTestId('guide-sft').click();
  await expect(page.getByTestId('sft-panel')).toBeVisible();
  await page.getByTestId('guide-dismiss').click();
  await expect(page.getByTestId('lesson-guide')).toHaveCount(0);
  await page.reload();
  await expect(page.getByTestId('backend')).toBeVisible({ timeout: 120_000 });
  await expect(page.getByTestId('tab-pretrain')).toContainText('done: shipped checkpoint');
  await expect(page.getByTestId('lesson-guide')).toHaveCount(0);
  // the SFT starting point: its measured share, as scripts/ship-sft.ts wrote it, and a load that replaces the model
  const sft = JSON.parse(readFileSync('public/checkpoints/sft.json', 'utf8')) as { following: { sft: number } };
  await page.getByTestId('tab-sft').click();
  await expect(page.getByTestId('sft-shipped')).toContainText(`${Math.round(100 * sft.following.sft)} %`);
  await page.getByTestId('sft-shipped-load').click();
  await expect(page.getByTestId('sft-shipped-message')).toBeVisible();
  await page.getByTestId('tab-pretrain').click();
  await expect(page.getByTestId('model-lineage')).toContainText('shipped mini SFT checkpoint');
});

test('a refused setting goes back to the value in use, with one message beside the field and no banner', async ({ page }) => {
  await openApp(page);
  await page.getByTestId('tab-ppo').click();
  const kl = page.getByTestId('setting-ppo-kl_coef');
  await kl.fill('11');
  await kl.press('Tab');
  await expect(page.getByTestId('error-ppo-kl_coef')).toContainText('Kept 0.05');
  await expect(kl).toHaveValue('0.05');
  const minibatch = page.getByTestId('setting-ppo-mini_batch_size');
  await minibatch.fill('32');
  await minibatch.press('Tab');
  await expect(page.getByTestId('error-ppo-mini_batch_size')).toContainText('Minibatch (32) must not be larger');
  await expect(minibatch).toHaveValue('8');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  expect(
    await page.evaluate(
      () =>
        (window as unknown as { playground: { status: { settings: Record<string, Record<string, number>> } } }).playground.status.settings
          .ppo.kl_coef,
    ),
  ).toBe(0.05);
});
