/**
 * Learning test of the DPO lesson on the tiny fixture, fixed seeds: DPO, on the labeler's rankings of the SFT model's
 * samples, raises the held-out gold above the SFT model's, at a KL from SFT that the lesson reports; PPO-ptx on a reward
 * model of the same rankings is measured alike (the same starting point). Setup: lessons-setup.ts.
 * Measured (wasm, short-answers): DPO's held-out gold -0.56 -0.56 -0.53 -0.50 -0.48 at KL 0 -0.09 0.45 0.78 1.10;
 * with the loss's sign flipped it fell to -0.67 (KL 1.60). About 20 s.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LessonRunner, seriesOf, type LessonContext } from '../../src/lib/lessons';
import { fixtureExists } from './rlhf-stage-fixture';
import { fmt, recordReaders, tinyContext, tinyLesson, TEST_SIZES, useWasmBackend } from './lessons-setup';

vi.setConfig({ testTimeout: 120_000 });

const LABELER = 'short-answers';
const GOLD_GAIN = 0.05;

let ctx: LessonContext | null = null;
beforeAll(async () => {
  await useWasmBackend();
});
afterAll(() => ctx?.policy.dispose());

describe.skipIf(!fixtureExists)('lessons: DPO needs no reward model', () => {
  it('DPO raises held-out gold above the SFT model at a reported KL from SFT; PPO-ptx starts from the same point', async () => {
    ctx = tinyContext(LABELER);
    const runner = new LessonRunner(tinyLesson('dpo', TEST_SIZES), ctx);
    const started = performance.now();
    try {
      const records = await runner.runAll();
      const { run, gold, kl } = recordReaders(records);
      console.log(
        `DPO lesson (${LABELER}): DPO gold ${fmt(gold('dpo').values)}, KL ${fmt(kl('dpo'))}; PPO-ptx gold ${fmt(gold('ppo-ptx').values)}, ` +
          `KL ${fmt(kl('ppo-ptx'))}; ${((performance.now() - started) / 1000).toFixed(1)} s\n  ${runner.summary()}`,
      );
      // measured alike: the SFT model's responses at step 0, the same for both, at KL 0 from itself
      expect(gold('dpo').steps[0]).toBe(0);
      expect(gold('dpo').values[0]).toBe(gold('ppo-ptx').values[0]);
      expect(kl('dpo')[0]).toBeCloseTo(0, 4);
      expect(kl('ppo-ptx')[0]).toBeCloseTo(0, 4);
      // DPO learnt the labeler's taste (a flipped sign lowers gold; a reference that follows the policy leaves it in place)
      const dpoGold = gold('dpo').values;
      expect(dpoGold.at(-1)! - dpoGold[0]).toBeGreaterThan(GOLD_GAIN);
      // and moved away from the SFT model to do it, by a KL the summary states
      expect(kl('dpo').at(-1)!).toBeGreaterThan(0.1);
      expect(runner.summary()).toContain(`at a KL from SFT of ${kl('dpo').at(-1)!.toFixed(2)}`);
      // one eval point per evaluation, each with the seconds of training so far (the reward model's counted in PPO-ptx)
      const seconds = seriesOf(run('ppo-ptx'), 'time/training_s', 'eval').values;
      expect(seconds[0]).toBeCloseTo(seriesOf(run('reward-model'), 'time/training_s', 'eval').values[0], 6);
      expect(seconds[0]).toBeGreaterThan(0);
      expect(seconds.at(-1)!).toBeGreaterThan(seconds[0]);
    } finally {
      runner.dispose();
    }
  });
});
