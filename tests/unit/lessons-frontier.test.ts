/**
 * The frontier lesson through the lesson engine, on the tiny fixture at test sizes (lessons-setup.ts, fewer steps still):
 * it runs whole; best-of-n, PPO-ptx, DPO and GRPO each record a curve of held-out gold against KL from SFT (best-of-n's KL
 * the closed form at each n), the three policy runs from the same starting point (the SFT model's responses, KL 0); the
 * lesson's chart draws the four curves and a fitted dashed curve through each; the summary names every method's end.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LessonRunner, seriesOf, type LessonContext } from '../../src/lib/lessons';
import type { LessonInfo } from '../../src/lib/types';
import { bestOfNKl } from '../../src/lib/rlhf/bestOfN';
import { chartLines, chartPoints } from '../../src/ui/lessons/lessonCharts';
import { fixtureExists } from './rlhf-stage-fixture';
import { fmt, recordReaders, tinyContext, tinyLesson, TEST_SIZES, useWasmBackend } from './lessons-setup';

vi.setConfig({ testTimeout: 120_000 });

const SIZES = {
  ...TEST_SIZES,
  responseLength: 12,
  methodFrontier: {
    rankings: 16,
    prompts: 8,
    bestOfN: { n_max: 8 },
    ppoIterations: 4,
    dpo: { epochs: 1, rankings_per_batch: 4, learning_rate: 3e-4 },
    grpo: { steps: 4, prompts_per_step: 2, group_size: 4, learning_rate: 3e-4 },
    evalEvery: { ppo: 1, dpo: 1, grpo: 1 },
  },
};
const METHODS = ['best-of-n', 'ppo-ptx', 'dpo', 'grpo'];

let ctx: LessonContext | null = null;
beforeAll(useWasmBackend);
afterAll(() => ctx?.policy.dispose());

describe.skipIf(!fixtureExists)('lessons: the frontier', () => {
  it('records four curves of held-out gold against KL, on one reward model, and the chart fits each', async () => {
    ctx = tinyContext('short-answers');
    const lesson = tinyLesson('method-frontier', SIZES);
    expect(lesson.runs.map((r) => r.id)).toEqual(['reward-model', ...METHODS]);
    const runner = new LessonRunner(lesson, ctx);
    const started = performance.now();
    try {
      const records = await runner.runAll();
      const { run, gold, kl } = recordReaders(records);
      for (const id of METHODS) console.log(`${id}: gold ${fmt(gold(id).values)}; KL ${fmt(kl(id))}`);
      console.log(`${((performance.now() - started) / 1000).toFixed(1)} s\n  ${runner.summary()}`);

      // best-of-n: one point per n, its KL the closed form
      const n = seriesOf(run('best-of-n'), 'best_of_n/n', 'eval').values;
      expect(n).toEqual([1, 2, 4, 8]);
      kl('best-of-n').forEach((x, i) => expect(x).toBeCloseTo(bestOfNKl(n[i]), 12));
      // the policy runs: before the first step (the SFT model, at KL 0 from itself) and after each, the same start
      for (const id of ['ppo-ptx', 'dpo', 'grpo']) {
        expect(gold(id).steps, id).toEqual([0, 1, 2, 3, 4]);
        expect(kl(id)[0], id).toBeCloseTo(0, 4);
        expect(gold(id).values[0], id).toBe(gold('ppo-ptx').values[0]);
        expect(Math.abs(kl(id).at(-1)!), id).toBeGreaterThan(1e-3); // it moved from the SFT model (k1 estimate: of either sign on 8 samples)
      }

      // the chart: four measured curves and a dashed fit through each
      const chart = lesson.charts[0];
      const points = chartPoints(chart, records);
      const info = { runs: lesson.runs.map((r) => ({ id: r.id, label: r.label })) } as unknown as LessonInfo;
      const lines = chartLines(chart, info, [points]);
      expect(lines.filter((l) => !l.dashed).map((l) => l.key.split(':')[0])).toEqual(METHODS);
      expect(lines.filter((l) => l.dashed).map((l) => l.key)).toEqual(METHODS.map((id) => `${id}:fit`));

      const summary = runner.summary();
      for (const name of ['best-of-n', 'PPO-ptx', 'DPO', 'GRPO']) expect(summary).toContain(`${name} `);
      expect(summary).toContain(`GRPO ${gold('grpo').values[0].toFixed(2)} → ${gold('grpo').values.at(-1)!.toFixed(2)}`);
      expect(summary).toMatch(/bought the most gold per unit of KL here|No method moved/);
    } finally {
      runner.dispose();
    }
  });
});
