/** Shared setup of the PPO learning tests: the tiny pretrained model, short prompts, a gold-score reward. */
import { labelerById } from '../../src/lib/data/labelers';
import { generatePrompts } from '../../src/lib/data/world';
import type { Tokenizer } from '../../src/lib/data/tokenizer';
import type { Metrics } from '../../src/lib/train/loop';
import { PpoStage, type PpoSettings } from '../../src/lib/rlhf/ppo';
import { loadPretrained } from './rlhf-stage-fixture';

export const LABELER = labelerById('dog-lover');

/** Prompts of at most 16 tokens, so that rows are 16 + 24 = 40 positions (cheaper than the full 64). */
export function shortPrompts(tokenizer: Tokenizer, seed: number, count: number): string[] {
  return generatePrompts(seed, 4 * count)
    .filter((p) => tokenizer.encode(p).length <= 16)
    .slice(0, count);
}

/** Small batches, many iterations: an iteration takes about 0.3 s on wasm. */
export const BASE_SETTINGS: Partial<PpoSettings> = {
  batch_size: 8,
  mini_batch_size: 8,
  num_ppo_epochs: 2,
  learning_rate: 5e-4,
  response_length: 24,
  ptx_coef: 0,
  missing_eos_penalty: 1,
  seed: 3,
};

const meanGold = (samples: { prompt: string; response: string }[]) =>
  samples.reduce((s, x) => s + LABELER.gold(x.prompt + x.response), 0) / samples.length;

/**
 * `iterations` PPO iterations from the pretrained model with the labeler's gold as the reward;
 * with `compare`, the mean gold of the reference's and the trained policy's responses to 32 held-out
 * prompts (same sampling seed for both).
 */
export async function runPpo(settings: Partial<PpoSettings>, iterations: number, compare = false, pretrainTokens?: Int32Array) {
  const { model, tokenizer } = loadPretrained();
  const stage = new PpoStage({
    policy: model,
    tokenizer,
    prompts: shortPrompts(tokenizer, 31, 64),
    rewardFunction: (prompt, response) => LABELER.gold(prompt + response),
    goldScorer: LABELER.gold,
    pretrainTokens,
    settings: { ...BASE_SETTINGS, ...settings },
  });
  const history: Metrics[] = [];
  for (let i = 0; i < iterations; i++) history.push(await stage.step());
  let reference: number | undefined;
  let policy: number | undefined;
  if (compare) {
    const evalPrompts = shortPrompts(tokenizer, 32, 32);
    reference = meanGold(await stage.sampleReference(evalPrompts, 99));
    policy = meanGold(await stage.samplePolicy(evalPrompts, 99));
  }
  stage.dispose();
  return { model, tokenizer, history, reference, policy };
}
