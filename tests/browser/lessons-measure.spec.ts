/**
 * Each lesson's run time and measured-result sentence in the browser on ?backend=wasm, at the sizes the app picks:
 * on the shipped mini model (MINI_CPU_SIZES on wasm) by default, or on the tiny fixture (TINY_SIZES) with
 * MEASURE_MODEL=tiny. A measurement, skipped in the ordinary test run:
 *
 *   npm run build && MEASURE_LESSONS=1 npx playwright test tests/browser/lessons-measure.spec.ts
 *   MEASURE_LESSONS=win-rate,k-way ...   # only these lessons
 *   MEASURE_MODEL=tiny MEASURE_LESSONS=1 ...   # the tiny fixture
 *
 * Writes test-results/lessons-<backend>.json (one entry per lesson and model: seconds, per-run seconds, summary),
 * merged with the figures of earlier runs kept in bench-results/ (Playwright empties test-results/ at each start),
 * and a screenshot of each finished lesson as bench-results/lessons-<id>-<model>.png.
 */
import { expect, test } from '@playwright/test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { LESSON_IDS } from '../../src/lib/lessons/text';
import { openApp } from './app';

// the DPO lesson is measured on its own (MEASURE_LESSONS=dpo)
const ALL = [...LESSON_IDS.filter((id) => id !== 'dpo'), 'verifiable-reward', 'method-frontier', 'made-up-facts'];
const ASKED = process.env.MEASURE_LESSONS ?? '';
const LESSONS = ASKED && ASKED !== '1' ? ASKED.split(',') : ALL;
const BACKEND = process.env.MEASURE_BACKEND || 'wasm';
const MODEL = process.env.MEASURE_MODEL === 'tiny' ? 'tiny' : 'mini';
const OUT = `test-results/lessons-${BACKEND}.json`;
const KEPT = `bench-results/lessons-${BACKEND}.json`;

test.skip(!ASKED, 'a measurement: MEASURE_LESSONS=1 (or a list of lesson ids)');

interface View {
  status: { state: string; step: number; total: number };
  summary: string;
  seconds: number;
  sizes: string;
  records: { id: string; seconds: number }[];
}

for (const id of LESSONS) {
  test(`measure: lesson ${id} on ${BACKEND}, ${MODEL === 'tiny' ? 'tiny fixture' : 'shipped mini model'}`, async ({ page }) => {
    test.setTimeout(1_800_000);
    await openApp(page, `?backend=${BACKEND}&lesson=${id}`);
    await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', BACKEND);
    if (MODEL === 'tiny') {
      const bytes = [...readFileSync('tests/fixtures/tiny-pretrained.safetensors')];
      await page.evaluate(async (b) => {
        const api = (window as unknown as { playground: { api: { importCheckpoint(x: Uint8Array, n: string): Promise<unknown> } } })
          .playground.api;
        await api.importCheckpoint(new Uint8Array(b), 'tiny-pretrained');
      }, bytes);
    } else {
      await expect(page.getByTestId('header-model')).toContainText('mini');
    }
    await expect(page.getByTestId('lesson-panel')).toHaveAttribute('data-lesson', id);
    const started = Date.now();
    await page.getByTestId('lesson-run').click();
    await expect(page.getByTestId('lesson-state')).toHaveText('done', { timeout: 1_700_000 });
    const wall = (Date.now() - started) / 1000;
    const view = (await page.evaluate(() =>
      (window as unknown as { playground: { api: { lesson(): Promise<unknown> } } }).playground.api.lesson(),
    )) as View;
    await expect(page.getByTestId('lesson-summary')).toContainText(view.summary.slice(0, 40));
    // the sizes the app picks: the tiny preset's, else mini's on a GPU backend and mini-cpu's on wasm or cpu
    expect(view.sizes).toBe(MODEL === 'tiny' ? 'tiny' : BACKEND === 'wasm' || BACKEND === 'cpu' ? 'mini-cpu' : 'mini');
    const figures = existsSync(KEPT) ? JSON.parse(readFileSync(KEPT, 'utf8')) : {};
    figures[`${id}:${MODEL}`] = {
      backend: BACKEND,
      model: MODEL,
      sizes: view.sizes,
      wallSeconds: Math.round(wall),
      stepSeconds: Math.round(view.seconds),
      runs: Object.fromEntries(view.records.map((r) => [r.id, Math.round(r.seconds)])),
      steps: view.status.total,
      summary: view.summary,
      measuredAt: new Date().toISOString(),
    };
    for (const path of [OUT, KEPT]) {
      mkdirSync(path.split('/')[0], { recursive: true });
      writeFileSync(path, JSON.stringify(figures, null, 2) + '\n');
    }
    await page.screenshot({ path: `bench-results/lessons-${id}-${MODEL}.png`, fullPage: true });
    await page.screenshot({ path: `bench-results/lessons-${id}-${MODEL}-top.png` });
    console.log(`[${id}] ${Math.round(wall)} s: ${view.summary}`);
  });
}
