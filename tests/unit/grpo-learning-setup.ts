/**
 * What the GRPO learning tests (rlhf-grpo-learning.test.ts, rlhf-grpo-learning-rm.test.ts) share: the tiny pretrained
 * model as the SFT stand-in, prompts of at most 16 tokens, GRPO from it on 64 training prompts with evaluate() before
 * and after on 64 held-out ones. Two files so that vitest's forks run them side by side.
 */
import * as tf from '@tensorflow/tfjs';
import { labelerById } from '../../src/lib/data/labelers';
import type { Tokenizer } from '../../src/lib/data/tokenizer';
import { generatePrompts } from '../../src/lib/data/world';
import { GrpoStage, type GrpoSettings } from '../../src/lib/rlhf/grpo';
import { followingPrompts } from '../../src/lib/rlhf/instructionEval';
import { RewardModel, withTensors } from '../../src/lib/rlhf/rewardModel';
import type { Metrics } from '../../src/lib/train/loop';
import { loadPretrained } from './rlhf-stage-fixture';

export const BASE: Partial<GrpoSettings> = { prompts_per_step: 8, group_size: 8, response_length: 24, seed: 1 };
export const LABELER = labelerById('dog-lover');

/** `count` prompts of at most 16 tokens from the stream of `seed`; with `following`, only those that name something. */
function shortPrompts(tokenizer: Tokenizer, seed: number, count: number, following: boolean): string[] {
  const short = generatePrompts(seed, 8 * count).filter((p) => tokenizer.encode(p).length <= 16);
  return following ? followingPrompts(short, count) : short.slice(0, count);
}

/** A reward model scoring -r where `rm` scores r: the same trunk (a copy) with the head negated. */
export const negated = (rm: RewardModel) =>
  withTensors([tf.neg(rm.w), tf.neg(rm.b)], (w, b) => RewardModel.fromParts(rm.trunk.clone(false), w, b, false));

export interface Run {
  before: Metrics;
  after: Metrics;
  seconds: number;
}

/** GRPO from the pretrained model on 64 training prompts; evaluate() before and after on 64 held-out ones. */
export async function runGrpo(
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

export const figures = (run: Run, key: string) =>
  `${run.before[key].toFixed(3)} -> ${run.after[key].toFixed(3)} (${run.seconds.toFixed(1)} s)`;
