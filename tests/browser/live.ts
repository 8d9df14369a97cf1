/** Shared steps of the live-loop browser tests and the measurement script: a trained reward model, PPO-ptx running, timed submits. */
import { expect, type Page } from '@playwright/test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';

export type Client = {
  api: Record<string, (...args: unknown[]) => Promise<unknown>>;
  status: {
    stages: Record<string, { state: string; step: number; phase?: { name: string; label: string }; aside?: { name: string }[] }>;
  };
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

/** One change of a stage's status as the page saw it: when (ms, page clock), its state, step and phase name. */
export interface StatusMark {
  t: number;
  state: string;
  step: number;
  phase: string;
  /** The names of the work beside its steps (status.aside), space-separated. */
  aside: string;
}

/** Starts recording every change of the stage's state, step or phase that the page sees (window.statusMarks). */
export async function recordStatus(page: Page, stage: string): Promise<void> {
  await page.evaluate((s) => {
    const marks: StatusMark[] = [];
    (window as unknown as { statusMarks: StatusMark[] }).statusMarks = marks;
    const pg = (window as unknown as { playground: Client }).playground;
    const read = () => {
      const st = pg.status.stages[s];
      const aside = (st.aside ?? []).map((a) => a.name).join(' ');
      const mark = { t: performance.now(), state: st.state, step: st.step, phase: st.phase?.name ?? '', aside };
      const last = marks.at(-1);
      if (!last || (['state', 'step', 'phase', 'aside'] as const).some((k) => last[k] !== mark[k])) marks.push(mark);
    };
    setInterval(read, 20);
  }, stage);
}

export function statusMarks(page: Page): Promise<StatusMark[]> {
  return page.evaluate(() => (window as unknown as { statusMarks: StatusMark[] }).statusMarks.slice());
}

/**
 * From the recorded marks, for each iteration that ran without a pause: the gap from its last update (the step counter
 * moving on) to the next iteration's sampling, in ms; the wall time between step counters moving on; and which phases
 * showed in the gaps.
 */
export function iterationFigures(marks: StatusMark[]): { gapsMs: number[]; iterationsMs: number[]; gapPhases: string[] } {
  const gapsMs: number[] = [];
  const iterationsMs: number[] = [];
  const gapPhases = new Set<string>();
  /** The last step end seen since the stage last ran without a break, and whether its gap was measured. */
  let ended: { step: number; t: number; measured: boolean } | null = null;
  let previousStep = marks[0]?.step ?? 0;
  for (const m of marks) {
    const stepMoved = m.step !== previousStep;
    previousStep = m.step;
    if (m.state !== 'running') {
      ended = null; // a pause: the stretch around it is not an ordinary iteration
      continue;
    }
    if (stepMoved) {
      if (ended && m.step === ended.step + 1) iterationsMs.push(m.t - ended.t);
      ended = { step: m.step, t: m.t, measured: false };
    }
    if (!ended || ended.measured) continue;
    if (m.phase === 'sampling') {
      gapsMs.push(m.t - ended.t);
      ended.measured = true;
    } else gapPhases.add(m.phase || '(none)');
  }
  return { gapsMs, iterationsMs, gapPhases: [...gapPhases] };
}

/** Clicks Resume and times how long until the state says running, noting whether "resuming…" showed meanwhile. */
export async function timedResume(page: Page, stage: string): Promise<{ resumingShown: boolean; runningMs: number }> {
  return page.evaluate(
    (s) =>
      new Promise<{ resumingShown: boolean; runningMs: number }>((resolve, reject) => {
        const stateEl = document.querySelector(`[data-testid="${s}-state"]`)!;
        const state = () => stateEl.textContent?.trim();
        const started = performance.now();
        let resumingShown = false;
        // every text the state shows, however briefly
        const seen = new MutationObserver(() => {
          if (state() === 'resuming…') resumingShown = true;
        });
        seen.observe(stateEl, { subtree: true, childList: true, characterData: true });
        (document.querySelector(`[data-testid="${s}-run"]`) as HTMLButtonElement).click();
        const check = () => {
          if (state() === 'resuming…') resumingShown = true;
          if (state() === 'running') {
            seen.disconnect();
            resolve({ resumingShown, runningMs: performance.now() - started });
          } else if (performance.now() - started > 300_000) reject(new Error(`not running 300 s after Resume; the state says ${state()}`));
          else requestAnimationFrame(check);
        };
        requestAnimationFrame(check);
      }),
    stage,
  );
}

/** Waits in the page until the stage's step counter moves on (an iteration's last update ended), then returns at once. */
export async function untilStepEnds(page: Page, stage: string): Promise<void> {
  await page.evaluate(
    (s) =>
      new Promise<void>((resolve) => {
        const pg = (window as unknown as { playground: Client }).playground;
        const from = pg.status.stages[s].step;
        const check = () => (pg.status.stages[s].step !== from ? resolve() : setTimeout(check, 5));
        check();
      }),
    stage,
  );
}
