/**
 * The lesson "a verifiable reward" (lessons/verifiableLesson.ts) through the engine at test sizes on the tiny fixture
 * (a few seconds; its figures mean nothing): the three GRPO runs on the reward each names, measured alike from the same
 * starting point (instruction following and pass@1 / pass@k at step 0 equal in all three), pass@1 <= pass@k, and the
 * summary quoting them. Then the summary on hand-made records: the lax run's animal share against the rest, and its
 * example a response that names the animal.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LessonRunner, seriesOf, type LessonContext, type LessonSizes, type RunRecord } from '../../src/lib/lessons';
import { newRecord } from '../../src/lib/lessons/run';
import { summariseVerifiable } from '../../src/lib/lessons/verifiableLesson';
import { formatPrompt } from '../../src/lib/data/world';
import { fixtureExists } from './rlhf-stage-fixture';
import { tinyContext, tinyLesson, TEST_SIZES, useWasmBackend } from './lessons-setup';

vi.setConfig({ testTimeout: 60_000 });

const K = 4;
const SIZES: LessonSizes = {
  ...TEST_SIZES,
  verifiable: {
    grpo: { steps: 2, prompts_per_step: 2, group_size: 4, learning_rate: 1e-3, beta: 0, response_length: 8, seed: 5 },
    evalEvery: 1,
    rankings: 4,
    followingPrompts: 4,
    passPrompts: 3,
    k: K,
    tokens: 12,
  },
};
const GRPO_RUNS = ['verifier', 'learned', 'animal-named'];

let ctx: LessonContext | null = null;
beforeAll(useWasmBackend);
afterAll(() => ctx?.policy.dispose());

describe.skipIf(!fixtureExists)('lessons: a verifiable reward, through the engine', () => {
  it('runs GRPO on the program, the learned reward model and the lax verifier, measured alike', async () => {
    ctx = tinyContext();
    const lesson = tinyLesson('verifiable-reward', SIZES);
    expect(lesson.runs.map((r) => r.id)).toEqual(['verifier', 'reward-model', 'learned', 'animal-named']);
    // 'follows the instruction' judges a response against its instruction: its rankings must show it the prompt
    expect(lesson.runs.find((r) => r.id === 'reward-model')?.rankings?.prompted).toBe(true);
    const runner = new LessonRunner(lesson, ctx);
    try {
      const records = await runner.runAll();
      const run = (id: string) => records.find((r) => r.id === id)!;
      // each run rewarded as it says (the GRPO stage names its reward kind in the metric)
      expect(seriesOf(run('verifier'), 'rewards/instruction_following/mean', 'train').values).toHaveLength(2);
      expect(seriesOf(run('learned'), 'rewards/learned/mean', 'train').values).toHaveLength(2);
      const lax = seriesOf(run('animal-named'), 'rewards/animal_named/mean', 'train').values;
      expect(lax).toHaveLength(2);
      lax.forEach((x) => expect([0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1]).toContain(x)); // 0/1 rewards, 8 of them
      for (const id of GRPO_RUNS) {
        const following = seriesOf(run(id), 'sft/instruction_following', 'eval');
        const p1 = seriesOf(run(id), 'pass@1', 'eval').values;
        const pk = seriesOf(run(id), `pass@${K}`, 'eval').values;
        expect(following.steps, id).toEqual([0, 1, 2]);
        expect(p1, id).toHaveLength(3);
        p1.forEach((x, i) => {
          expect(x).toBeGreaterThanOrEqual(0);
          expect(pk[i], `${id} pass@k >= pass@1`).toBeGreaterThanOrEqual(x);
          expect(pk[i]).toBeLessThanOrEqual(1);
          // pass@k with n = k is a share of the prompts: a multiple of 1/3 here
          expect(Math.abs(pk[i] * 3 - Math.round(pk[i] * 3))).toBeLessThan(1e-9);
        });
        // the same SFT model, prompts and seeds at step 0 in every run
        for (const key of ['sft/instruction_following', 'pass@1', `pass@${K}`])
          expect(seriesOf(run(id), key, 'eval').values[0], `${id} ${key}`).toBe(seriesOf(run('verifier'), key, 'eval').values[0]);
      }
      const p1 = seriesOf(run('verifier'), 'pass@1', 'eval').values;
      expect(runner.summary()).toContain(`pass@1 ${Math.round(100 * p1[0])} % → ${Math.round(100 * p1[2])} %`);
      expect(runner.summary()).toContain('The lax verifier, paid for the animal alone');
    } finally {
      runner.dispose();
    }
  });
});

describe('the verifiable-reward summary', () => {
  const record = (id: string, evals: Record<string, number>[], samples: RunRecord['samples'] = []): RunRecord => ({
    ...newRecord({ id, label: id, stage: 'grpo', settings: {}, evaluations: [], evalEvery: 4 }, 8),
    samples,
    points: evals.map((values, i) => ({ step: 4 * i, kind: 'eval', values })),
  });
  const prompt = formatPrompt('Write a short story about Tom and a dog at the park.');

  it('says how pass@1 and pass@8 moved, and what the lax run traded for the animal, with an example', () => {
    const verifier = record('verifier', [
      { 'sft/instruction_following': 0.4, 'pass@1': 0.1, 'pass@8': 0.5 },
      { 'sft/instruction_following': 0.7, 'pass@1': 0.35, 'pass@8': 0.55 },
    ]);
    const samples = [
      {
        label: 'latest',
        step: 8,
        items: [
          { prompt, response: ' Tom went to the park.', gold: 0.5, badge: 'follows 2 of 4' },
          { prompt, response: ' The dog barked. The dog barked.', gold: 0.25, badge: 'follows 1 of 4' },
          { prompt, response: ' Tom and the dog at the park.', gold: 0.75, badge: 'follows 3 of 4' },
        ],
      },
    ];
    const lax = record(
      'animal-named',
      [
        {
          'sft/instruction_following': 0.4,
          'pass@1': 0.1,
          'pass@8': 0.5,
          'sft/instruction_following/animal': 0.3,
          'sft/instruction_following/place': 0.6,
        },
        {
          'sft/instruction_following': 0.3,
          'pass@1': 0.05,
          'pass@8': 0.25,
          'sft/instruction_following/animal': 0.9,
          'sft/instruction_following/place': 0.2,
        },
      ],
      samples,
    );
    const text = summariseVerifiable([verifier, lax], 8);
    expect(text).toContain('on the program following went 40 % → 70 %, pass@1 10 % → 35 % (+25 points) and pass@8 50 % → 55 % (+5 points)');
    expect(text).toContain(
      'on the lax verifier following went 40 % → 30 %, pass@1 10 % → 5 % (−5 points) and pass@8 50 % → 25 % (−25 points)',
    );
    expect(text).toContain('moved the animal 30 % → 90 % and the rest: place 60 % → 20 %');
    // the response that names the dog and honours least else, not the one without the dog
    expect(text).toContain('"Write a short story about Tom and a dog at the park." → "The dog barked. The dog barked." (follows 1 of 4)');
    expect(text).not.toContain('reward model following');
    expect(summariseVerifiable([], 8)).toBe('Not run yet.');
  });
});
