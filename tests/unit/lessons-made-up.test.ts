/**
 * The made-up-facts lesson through the lesson engine, on the tiny fixture (64-token context, so input stories of at most
 * 100 characters: TINY_SIZES.madeUpFacts), fixed seeds: SFT on the task mix makes up fewer facts than the pretrained model
 * on held-out closed-domain prompts, and DPO on the rankings of the 'no-made-up-facts' labeler fewer still, each with the
 * 95 % interval of the difference above 0; with the labeler reversed (one who prefers made-up facts) DPO does not lower
 * the rate. The summary states both rates with their intervals.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { labelerById, type Labeler } from '../../src/lib/data/labelers';
import { buildLessons, LessonRunner, seriesOf, tasksLessonContext, TINY_SIZES, type RunRecord } from '../../src/lib/lessons';
import { differenceInterval } from '../../src/lib/lessons/stats';
import type { GPT } from '../../src/lib/model/gpt';
import { fixtureExists, loadPretrained } from './rlhf-stage-fixture';
import { useWasmBackend } from './lessons-setup';

vi.setConfig({ testTimeout: 180_000 });

const LABELER = labelerById('no-made-up-facts');
/** The broken labeler: the same judge, its preference reversed. */
const REVERSED: Labeler = { ...LABELER, id: 'likes-made-up-facts', gold: (text) => -LABELER.gold(text) };

const models: GPT[] = [];
beforeAll(useWasmBackend);
afterAll(() => models.forEach((m) => m.dispose()));

/** The lesson with the SFT run measured too (before and after it), its DPO run ranked by `labeler`. */
async function runLesson(labeler: Labeler): Promise<{ records: RunRecord[]; summary: string }> {
  const base = buildLessons(TINY_SIZES).find((l) => l.id === 'made-up-facts')!;
  const measure = base.runs[1].evaluations;
  const lesson = {
    ...base,
    runs: [
      { ...base.runs[0], evaluations: measure },
      { ...base.runs[1], labeler: undefined },
    ],
  };
  const { model, tokenizer } = loadPretrained();
  models.push(model);
  const ctx = tasksLessonContext(model, tokenizer, { ...lesson.tasks!, labeler });
  const runner = new LessonRunner(lesson, ctx);
  try {
    const records = await runner.runAll();
    return { records, summary: runner.summary() };
  } finally {
    runner.dispose();
  }
}

/** First and last made-up-fact counts of a run's evaluations, and the interval of their difference (first − last). */
function change(r: RunRecord) {
  const rate = seriesOf(r, 'objective/hallucination', 'eval').values;
  const n = seriesOf(r, 'tasks/closed_domain', 'eval').values;
  const [x1, x2] = [Math.round(rate[0] * n[0]), Math.round(rate.at(-1)! * n.at(-1)!)];
  return { rates: [rate[0], rate.at(-1)!], ...differenceInterval(x1, n[0], x2, n.at(-1)!) };
}

const fmt = (c: ReturnType<typeof change>) =>
  `${c.rates.map((x) => (100 * x).toFixed(1)).join(' % -> ')} %, difference ${(100 * c.difference).toFixed(1)} (${(100 * c.low).toFixed(1)} to ${(100 * c.high).toFixed(1)})`;

describe.skipIf(!fixtureExists)('lessons: fewer made-up facts', () => {
  it('SFT and then DPO on the labeler’s rankings lower the made-up-fact rate; a reversed labeler does not', async () => {
    const started = performance.now();
    const { records, summary } = await runLesson(LABELER);
    const [sft, dpo] = records.map(change);
    console.log(`SFT: ${fmt(sft)}\nDPO: ${fmt(dpo)}\n${summary}`);
    expect(sft.low).toBeGreaterThan(0);
    expect(dpo.low).toBeGreaterThan(0);
    // the DPO run starts from the SFT run's policy: the same responses at its step 0 as at SFT's end
    expect(dpo.rates[0]).toBe(sft.rates[1]);
    expect(summary).toMatch(/after SFT \d+ % \(95 % interval \d+ %–\d+ %, \d+ of \d+\), after DPO \d+ % \(95 % interval/);
    expect(summary).toContain('fewer');
    expect(summary).toContain('GPT-3 41 % → InstructGPT 21 %');

    const reversed = change((await runLesson(REVERSED)).records[1]);
    console.log(`reversed labeler, DPO: ${fmt(reversed)}; ${((performance.now() - started) / 1000).toFixed(1)} s`);
    expect(reversed.rates[0]).toBe(dpo.rates[0]); // the same SFT model
    expect(reversed.low).toBeLessThanOrEqual(0);
  });
});
