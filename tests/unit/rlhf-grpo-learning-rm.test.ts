/**
 * Learning test for GRPO (rlhf/grpo.ts) with a learned reward: a reward model trained on the 'dog-lover' labeler's
 * rankings (the reward-model test's kind of data), then GRPO on its scores from the tiny pretrained model, raises that
 * labeler's gold score of 64 held-out responses. It runs again with the reward model's head negated, which flips
 * every advantage exactly: that broken twin misses the threshold. Sizes as in rlhf-grpo-learning.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RewardModel } from '../../src/lib/rlhf/rewardModel';
import { RewardStage } from '../../src/lib/rlhf/rewardTrainer';
import { labelerRankings } from '../../src/lib/rlhf/shortAnswerRankings';
import { figures, LABELER, negated, runGrpo } from './grpo-learning-setup';
import { fixtureExists, loadPretrained } from './rlhf-stage-fixture';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

describe('GRPO learning with a reward model', () => {
  it.skipIf(!fixtureExists)("(b) a reward model learned from the labeler's rankings raises its held-out gold score", async () => {
    const { model, tokenizer } = loadPretrained();
    const rm = RewardModel.fromPolicy(model, 1);
    model.dispose();
    const rankings = labelerRankings(LABELER.id, tokenizer, 100, 7);
    const rewardSettings = { rankings_per_batch: 4, epochs: 1, learning_rate: 1e-3, held_out_share: 0.3, seed: 1 };
    const trainer = new RewardStage(rm, tokenizer, rankings, rewardSettings, { maxCompletions: 4, time: 48 });
    while (trainer.stepsDone < trainer.totalSteps) await trainer.step();
    const accuracy = (await trainer.evaluate()).pair_accuracy;
    trainer.dispose();
    const settings = { steps: 30, learning_rate: 3e-4 }; // beta 0.04, DeepSeekMath's
    const key = 'objective/gold';
    const right = await runGrpo({ rewardModel: rm }, false, settings);
    const flippedRm = negated(rm);
    const flipped = await runGrpo({ rewardModel: flippedRm }, false, settings);
    console.log(
      `GRPO (b) reward model's held-out pair accuracy ${accuracy.toFixed(3)}; held-out gold ${figures(right, key)}; advantages flipped: ${figures(flipped, key)}`,
    );
    expect(accuracy).toBeGreaterThan(0.6);
    expect(right.after[key] - right.before[key]).toBeGreaterThan(0.1);
    expect(flipped.after[key] - flipped.before[key]).toBeLessThan(0.1);
    rm.dispose();
    flippedRm.dispose();
  });
});
