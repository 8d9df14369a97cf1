/** Shared steps of the live-loop browser tests and the measurement script: a trained reward model, PPO-ptx running, timed submits. */
import { expect, type Page } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

export type Client = {
  api: Record<string, (...args: unknown[]) => Promise<unknown>>;
  status: { stages: Record<string, { state: string; step: number; phase?: { name: string; label: string } }> };
  metrics: Record<string, { kind: string; values: Record<string, number> }[]>;
};

export const TINY = 'tests/fixtures/tiny-pretrained.safetensors';

/** Loads the tiny fixture through the engine (fast on SwiftShader); the shipped mini model stays when `tiny` is false. */
export async function loadTiny(page: Page): Promise<void> {
  const bytes = [...readFileSync(TINY)];
  await page.evaluate(
    (b) => (window as unknown as { playground: Client }).playground.api.importCheckpoint(new Uint8Array(b), 'tiny-pretrained.safetensors'),
    bytes,
  );
  await expect(page.getByTestId('model-info')).toContainText('tiny-pretrained', { timeout: 60_000 });
}

export function stageState(page: Page, stage: string): Promise<string> {
  return page.evaluate((s) => (window as unknown as { playground: Client }).playground.status.stages[s].state, stage);
}

/** Simulated rankings, then the reward model trained on them, all through the engine API (the UI of those is tested elsewhere). */
export async function trainedReward(
  page: Page,
  ppo: Record<string, number>,
  rankings = 6,
  reward: Record<string, number> = { epochs: 1, rankings_per_batch: 2, held_out_share: 0.25, update_steps: 1 },
): Promise<void> {
  await page.evaluate(
    async ({ ppo, reward }) => {
      const { api } = (window as unknown as { playground: Client }).playground;
      await api.clearRankings();
      await api.configure('reward', reward);
      await api.configure('ppo', ppo);
      await api.setLabeler({ labelerId: 'short-answers', agreement: 1, pace: 120, k: 4 });
    },
    { ppo, reward },
  );
  const rankingsNow = () =>
    page.evaluate(() =>
      ((window as unknown as { playground: Client }).playground.api.counters() as Promise<{ rankings: number }>).then((c) => c.rankings),
    );
  await expect.poll(rankingsNow, { timeout: 300_000 }).toBeGreaterThanOrEqual(rankings);
  await page.evaluate(() =>
    (window as unknown as { playground: Client }).playground.api.setLabeler({ labelerId: null, agreement: 1, pace: 1, k: 4 }),
  );
  await page.evaluate(() => (window as unknown as { playground: Client }).playground.api.run('reward'));
  await expect.poll(() => stageState(page, 'reward'), { timeout: 300_000 }).toBe('done');
}

/** Submits the task on show `count` times (after `thinkMs` of "reading" each), timing the click → next task on screen. */
export async function timedSubmits(page: Page, count: number, thinkMs: number): Promise<number[]> {
  const latencies: number[] = [];
  await expect(page.getByTestId('ranking-task')).toBeVisible({ timeout: 300_000 });
  for (let i = 0; i < count; i++) {
    await page.waitForTimeout(thinkMs);
    await expect(page.getByTestId('ranking-task')).toBeVisible({ timeout: 300_000 });
    const ms = await page.evaluate(
      () =>
        new Promise<number>((resolve, reject) => {
          const before = document.querySelector('[data-testid="ranking-task"]')?.getAttribute('data-task-id');
          const started = performance.now();
          (document.querySelector('[data-testid="ranking-submit"]') as HTMLButtonElement).click();
          const check = () => {
            const id = document.querySelector('[data-testid="ranking-task"]')?.getAttribute('data-task-id');
            if (id && id !== before) resolve(performance.now() - started);
            else if (performance.now() - started > 300_000) {
              const panel = document.querySelector('[data-testid="ranking-panel"]')?.textContent?.slice(0, 400);
              reject(new Error(`no new task 300 s after a submit; the ranking panel says: ${panel}`));
            } else requestAnimationFrame(check);
          };
          requestAnimationFrame(check);
        }),
    );
    latencies.push(ms);
  }
  return latencies;
}

export function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Writes the figures beside the other measurements (test-results/<file>) and prints them. */
export function report(file: string, figures: Record<string, unknown>): void {
  mkdirSync('test-results', { recursive: true });
  const path = `test-results/${file}`;
  let all: Record<string, unknown> = {};
  try {
    all = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    // first figures in this file
  }
  Object.assign(all, figures);
  writeFileSync(path, JSON.stringify(all, null, 2));
  console.log(`${path}: ${JSON.stringify(figures)}`);
}

/** Clicks Pause and times how long until the state says paused (the click → "pausing…" → "paused"). */
export async function timedPause(page: Page, stage: string): Promise<{ pausingShownMs: number; pausedMs: number }> {
  return page.evaluate(
    (s) =>
      new Promise<{ pausingShownMs: number; pausedMs: number }>((resolve, reject) => {
        const state = () => document.querySelector(`[data-testid="${s}-state"]`)?.textContent?.trim();
        const started = performance.now();
        let pausingShownMs = -1;
        (document.querySelector(`[data-testid="${s}-pause"]`) as HTMLButtonElement).click();
        const check = () => {
          if (pausingShownMs < 0 && state() === 'pausing') pausingShownMs = performance.now() - started;
          if (state() === 'paused') resolve({ pausingShownMs, pausedMs: performance.now() - started });
          else if (performance.now() - started > 300_000) {
            // what the engine itself says (the page's copy may be stale), asked with a timeout of its own
            const pg = (window as unknown as { playground: Client }).playground;
            const engineSays = Promise.race([
              pg.api.status().then((st) => JSON.stringify((st as { stages: Record<string, unknown> }).stages[s])),
              new Promise<string>((r) => setTimeout(() => r('no answer in 5 s'), 5000)),
            ]);
            void engineSays.then((said) =>
              reject(
                new Error(
                  `not paused 300 s after Pause; the state says ${state()} ("pausing" shown: ${pausingShownMs >= 0}); the engine says ${said}`,
                ),
              ),
            );
          } else requestAnimationFrame(check);
        };
        requestAnimationFrame(check);
      }),
    stage,
  );
}
