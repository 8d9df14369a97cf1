/**
 * The live loop's figures as a new user meets them: the shipped mini model on ?backend=wasm, PPO-ptx with its
 * default settings, submits timed from the click to the next task on screen; from the status the page saw, the gap
 * between an iteration's last update and the next one's sampling and the iteration's wall time; pause latency (inside
 * an update and right after an iteration's last update) and resume latency (click to "running"). Run by
 * scripts/measure-live.ts (MEASURE_LIVE=1); skipped in the ordinary test run. Writes test-results/live-figures.json.
 */
import { expect, test } from '@playwright/test';
import { openApp } from './app';
import {
  iterationFigures,
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

const SUBMITS = Number(process.env.MEASURE_SUBMITS || 40);
const THINK_MS = Number(process.env.MEASURE_THINK_MS || 3000);
const BACKEND = process.env.MEASURE_BACKEND || 'wasm';

test.skip(!process.env.MEASURE_LIVE, 'a measurement: run it with scripts/measure-live.ts');

test(`measure: submit latency during PPO-ptx and pause latency (${BACKEND}, shipped mini)`, async ({ page }) => {
  test.setTimeout(3_600_000);
  await openApp(page, `?backend=${BACKEND}`);
  await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', BACKEND);
  await expect(page.getByTestId('model-info')).toContainText('mini');
  const setupStarted = Date.now();
  // the reward model from a few simulated rankings; PPO-ptx with its defaults (batch 16, minibatch 8, 4 epochs, 48 tokens)
  await trainedReward(page, { iterations: 200 }, 6, { epochs: 1, held_out_share: 0.25 });
  const setupSeconds = (Date.now() - setupStarted) / 1000;

  await page.getByTestId('tab-ppo').click();
  const ppoStarted = Date.now();
  await page.getByTestId('ppo-run').click();
  await expect.poll(() => stageState(page, 'ppo'), { timeout: 120_000 }).toBe('running');
  await recordStatus(page, 'ppo');
  const firstPhase = await page.evaluate(async () => {
    const pg = (window as unknown as { playground: Client }).playground;
    const started = performance.now();
    while (!pg.status.stages.ppo.phase && performance.now() - started < 120_000) await new Promise((r) => setTimeout(r, 20));
    return { label: pg.status.stages.ppo.phase?.label ?? '', ms: performance.now() - started };
  });

  const latencies = await timedSubmits(page, SUBMITS, THINK_MS);
  const iterationsDuring = await page.evaluate(() => (window as unknown as { playground: Client }).playground.status.stages.ppo.step);
  await expect(page.getByTestId('ppo-phase')).toContainText('minibatch', { timeout: 600_000 });
  const pauses = [{ at: 'update', ...(await timedPause(page, 'ppo')) }];
  const resumes: { after: string; resumingShown: boolean; runningMs: number }[] = [];
  // where each pause lands: 1 s into the stretch after an iteration's last update (the reward-model update), right at
  // its start, inside an update minibatch
  for (const at of ['1 s after the last update', 'update', 'right after the last update', '1 s after the last update']) {
    // a ranking or two waiting for the reward model, as when a person ranks on
    await timedSubmits(page, 2, 500);
    resumes.push({ after: pauses.at(-1)!.at, ...(await timedResume(page, 'ppo')) });
    if (at === 'update') {
      await expect(page.getByTestId('ppo-phase')).toContainText('minibatch', { timeout: 600_000 });
      await timedSubmits(page, 2, 500);
    } else {
      await untilStepEnds(page, 'ppo');
      if (at.startsWith('1 s')) await page.waitForTimeout(1000);
    }
    pauses.push({ at, ...(await timedPause(page, 'ppo')) });
  }
  await timedSubmits(page, 2, 500);
  resumes.push({ after: pauses.at(-1)!.at, ...(await timedResume(page, 'ppo')) });
  await untilStepEnds(page, 'ppo');
  await untilStepEnds(page, 'ppo');
  const { gapsMs, iterationsMs, gapPhases } = iterationFigures(await statusMarks(page));
  const figures = {
    backend: BACKEND,
    model: 'shipped mini',
    submits: latencies.length,
    thinkMs: THINK_MS,
    submitP50Ms: Math.round(percentile(latencies, 50)),
    submitP95Ms: Math.round(percentile(latencies, 95)),
    submitMaxMs: Math.round(Math.max(...latencies)),
    latenciesMs: latencies.map(Math.round),
    ppoIterationsDuringSubmits: iterationsDuring,
    firstPhaseShownMs: Math.round(firstPhase.ms),
    firstPhaseLabel: firstPhase.label,
    gapMedianMs: Math.round(percentile(gapsMs, 50)),
    gapMaxMs: Math.round(Math.max(...gapsMs)),
    gapsMs: gapsMs.map(Math.round),
    gapPhases,
    iterationMedianMs: Math.round(percentile(iterationsMs, 50)),
    iterationsMs: iterationsMs.map(Math.round),
    pauseMs: pauses.map((p) => `${Math.round(p.pausedMs)} (${p.at})`),
    pauseMaxMs: Math.round(Math.max(...pauses.map((p) => p.pausedMs))),
    pausingShownMs: pauses.map((p) => Math.round(p.pausingShownMs)),
    resumeMs: resumes.map((r) => `${Math.round(r.runningMs)} (after a pause at ${r.after})`),
    resumeMaxMs: Math.round(Math.max(...resumes.map((r) => r.runningMs))),
    resumingShown: resumes.every((r) => r.resumingShown),
    setupSeconds,
    ppoSecondsBeforePause: (Date.now() - ppoStarted) / 1000,
  };
  report('live-figures.json', { [`${BACKEND}-mini`]: figures });
});

test(`measure: submits every 2 s before the first reward model (${BACKEND}, shipped mini)`, async ({ page }) => {
  test.setTimeout(1_200_000);
  await openApp(page, `?backend=${BACKEND}`);
  await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', BACKEND);
  await expect(page.getByTestId('model-info')).toContainText('mini');
  await page.getByTestId('tab-reward').click();
  const latencies = await timedSubmits(page, Number(process.env.MEASURE_EARLY_SUBMITS || 40), 2000);
  const waited = latencies.filter((ms) => ms > 250).length; // a wait long enough to show "Sampling 4 completions…"
  report('live-figures.json', {
    [`${BACKEND}-mini-before-reward`]: {
      submits: latencies.length,
      thinkMs: 2000,
      submitP50Ms: Math.round(percentile(latencies, 50)),
      submitP95Ms: Math.round(percentile(latencies, 95)),
      submitMaxMs: Math.round(Math.max(...latencies)),
      over250Ms: waited,
      latenciesMs: latencies.map(Math.round),
    },
  });
});
