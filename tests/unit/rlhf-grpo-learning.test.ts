/**
 * Learning tests for GRPO (rlhf/grpo.ts) on the tiny pretrained model, which stands in for the SFT model (its corpus
 * already holds instruction/response pairs); prompts of at most 16 tokens, completions of 24 tokens, groups of 8 for
 * 8 prompts a step. Measured on 64 held-out prompts (the same sampling seed before and after):
 *   (a) the verifiable reward, the instruction-following program (stages/rewardKinds.ts), raises the share of what
 *       held-out instructions named that the responses honour by at least 15 points;
 *   (b) a reward model trained on the 'dog-lover' labeler's rankings (the reward-model test's kind of data), then GRPO
 *       on its scores, raises that labeler's gold score of the responses.
 * Each runs again with the rewards negated, which flips every advantage exactly (A(-r) = -A(r): the group's mean
 * changes sign, its std does not): that broken twin misses the threshold.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { labelerById } from '../../src/lib/data/labelers';
import type { Tokenizer } from '../../src/lib/data/tokenizer';
import { generatePrompts } from '../../src/lib/data/world';
import { GrpoStage, type GrpoSettings } from '../../src/lib/rlhf/grpo';
import { followingPrompts } from '../../src/lib/rlhf/instructionEval';
import { RewardModel, withTensors } from '../../src/lib/rlhf/rewardModel';
import { RewardStage } from '../../src/lib/rlhf/rewardTrainer';
import { labelerRankings } from '../../src/lib/rlhf/shortAnswerRankings';
import { instructionFollowingReward } from '../../src/lib/stages/rewardKinds';
import type { Metrics } from '../../src/lib/train/loop';
import { fixtureExists, loadPretrained } from './rlhf-stage-fixture';
import { useWasmBackend } from './setup-tf';

const BASE: Partial<GrpoSettings> = { prompts_per_step: 8, group_size: 8, response_length: 24, seed: 1 };
const LABELER = labelerById('dog-lover');

/** `count` prompts of at most 16 tokens from the stream of `seed`; with `following`, only those that name something. */
function shortPrompts(tokenizer: Tokenizer, seed: number, count: number, following: boolean): string[] {
  const short = generatePrompts(seed, 8 * count).filter((p) => tokenizer.encode(p).length <= 16);
  return following ? followingPrompts(short, count) : short.slice(0, count);
}

/** A reward model scoring -r where `rm` scores r: the same trunk (a copy) with the head negated. */
const negated = (rm: RewardModel) =>
  withTensors([tf.neg(rm.w), tf.neg(rm.b)], (w, b) => RewardModel.fromParts(rm.trunk.clone(false), w, b, false));

interface Run {
  before: Metrics;
  after: Metrics;
  seconds: number;
}

/** GRPO from the pretrained model on 64 training prompts; evaluate() before and after on 64 held-out ones. */
async function runGrpo(
  reward: { rewardFunction?: (prompt: string, response: string) => number; rewardModel?: RewardModel },
  following: boolean,
  settings: Partial<GrpoSettings>,
): Promise<Run> {
  const started = performance.now();
  const { model, tokenizer } = loadPretrained();
  const stage = new GrpoStage({
    policy: model,
    tokenizer,
    prompts: shortPrompts(tokenizer, 31, 64, following),
    evalPrompts: shortPrompts(tokenizer, 32, 64, following),
    goldScorer: LABELER.gold,
    ...reward,
    settings: { ...BASE, ...settings },
  });
  const before = await stage.evaluate();
  while (stage.stepsDone < stage.totalSteps) await stage.step();
  const after = await stage.evaluate();
  stage.dispose();
  model.dispose();
  return { before, after, seconds: (performance.now() - started) / 1000 };
}

const figures = (run: Run, key: string) => `${run.before[key].toFixed(3)} -> ${run.after[key].toFixed(3)} (${run.seconds.toFixed(1)} s)`;

beforeAll(useWasmBackend);

describe('GRPO learning', () => {
  it.skipIf(!fixtureExists)('(a) the instruction-following reward raises held-out instruction following by >= 15 points', async () => {
    // TRL's default beta 0 (no reference model). Seeds 1, 2, 3 gained 30, 27, 9 points; at DeepSeekMath's 0.04 they
    // gained 1 to 2 (README: why the k3 term holds this tiny model back is open)
    const settings = { steps: 30, learning_rate: 5e-4, beta: 0 };
    const key = 'objective/instruction_following';
    const right = await runGrpo({ rewardFunction: instructionFollowingReward }, true, settings);
    const flipped = await runGrpo({ rewardFunction: (p, r) => -instructionFollowingReward(p, r) }, true, settings);
    console.log(`GRPO (a) held-out instruction following ${figures(right, key)}; advantages flipped: ${figures(flipped, key)}`);
    expect(right.after[key] - right.before[key]).toBeGreaterThanOrEqual(0.15);
    expect(flipped.after[key] - flipped.before[key]).toBeLessThan(0.15);
  });

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
