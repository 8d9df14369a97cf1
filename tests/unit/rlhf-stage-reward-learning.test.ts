/**
 * Learning test (a): a reward model trained on a simulated labeler's rankings orders held-out
 * rankings the way the labeler does. The labeler is 'short-answers' without noise; completions are
 * 1 to 4 sentences of demonstrations and prompts at most 16 tokens, so that the preference is visible
 * within 48 positions (cheaper than the full 64). Measured: held-out pair accuracy
 * 0.86 after 16 steps (0.83 already after 5; seeds 8 and 9 of the data: 0.88, 0.81 after 10 steps).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { shortAnswerRankings } from '../../src/lib/rlhf/shortAnswerRankings';
import { RewardModel } from '../../src/lib/rlhf/rewardModel';
import { RewardStage } from '../../src/lib/rlhf/rewardTrainer';
import { fixtureExists, loadPretrained } from './rlhf-stage-fixture';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

describe('reward model learning', () => {
  it.skipIf(!fixtureExists)("reaches >= 80% held-out pair accuracy on the 'short-answers' labeler's rankings", async () => {
    const { model, tokenizer } = loadPretrained();
    const rm = RewardModel.fromPolicy(model, 1);
    const rankings = shortAnswerRankings(tokenizer, 100, 7);
    const settings = { rankings_per_batch: 4, epochs: 1, learning_rate: 1e-3, held_out_share: 0.4, seed: 1 };
    const stage = new RewardStage(rm, tokenizer, rankings, settings, { maxCompletions: 4, time: 48 });
    while (stage.stepsDone < stage.totalSteps) await stage.step();
    const after = await stage.evaluate();
    console.log(
      `RM held-out pair accuracy ${after.pair_accuracy.toFixed(3)}, margin ${after.margin.toFixed(3)}, ${stage.counts.heldOut} held-out rankings, ${stage.totalSteps} steps`,
    );
    expect(after.pair_accuracy).toBeGreaterThanOrEqual(0.8);
    expect(after.margin).toBeGreaterThan(0);
    stage.dispose();
    rm.dispose();
    model.dispose();
  });
});
