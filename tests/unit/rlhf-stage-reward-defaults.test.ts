/**
 * Learning test for the reward model's defaults (REWARD_DEFAULTS, issue #9): 80 rankings of K = 4 completions
 * sampled from a pretrained model as the app's ranking queue samples them (temperature 1, at most 48 new tokens),
 * ranked by built-in labelers at 100 % agreement, train a reward model with the default settings. Held out: the
 * app's own share of the 80 plus 120 more rankings that are never trained on, so that the figure rests on about
 * 780 pairs rather than 60. Runs on the wasm backend (same numbers as cpu, 5-10x faster).
 *
 * Held-out pair accuracy [95 % interval, clustered by ranking] of 780 pairs in 130 rankings, 4 epochs at lr 1e-3, seed 1:
 * - the tiny fixture, in the normal suite (about 50 s): short-answers 76.9 % [73.4, 80.1], no-repetition 67.2 %
 *   [62.9, 71.1]. 88 % of its 48-token completions stop mid-sentence, before the ending or the length most labelers
 *   judge, so only some labelers are learnable at this size.
 * - the shipped mini checkpoint, with RLHF_SLOW=1 (about 15 minutes here): at least 70 % for at least two labelers.
 *   Measured with scripts/reward-check.ts (same prompts, seeds and settings): short-answers 82.1 % [79.0, 84.8],
 *   happy-endings 77.6 % [74.4, 80.5], no-repetition 72.3 % [68.5, 75.8], dog-lover 66.9 % [63.1, 70.6].
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { hashFraction as idFraction } from '../../src/lib/data/hash';
import { labelerById, rankCompletions } from '../../src/lib/data/labelers';
import { Rng } from '../../src/lib/data/rng';
import type { Tokenizer } from '../../src/lib/data/tokenizer';
import { generatePrompts } from '../../src/lib/data/world';
import { decodeCheckpoint, modelFromCheckpoint } from '../../src/lib/model/checkpoint';
import type { GPT } from '../../src/lib/model/gpt';
import { sample } from '../../src/lib/model/sampler';
import type { Ranking } from '../../src/lib/rlhf/rankings';
import { RewardModel } from '../../src/lib/rlhf/rewardModel';
import { REWARD_DEFAULTS, RewardStage } from '../../src/lib/rlhf/rewardTrainer';
import { isIndistinguishableFromChance } from '../../src/lib/rlhf/stats';
import type { Metrics } from '../../src/lib/train/loop';
import { fixtureExists, loadPretrained } from './rlhf-stage-fixture';
import { useWasmBackend } from './setup-tf';

const K = 4;
const RANKINGS = 80;
const EXTRA_HELD_OUT = 120;
const SHIPPED = 'public/checkpoints/default.safetensors';

/** K completions per prompt, as the app's queue samples them: batches of 8 prompts, temperature 1, up to 48 new tokens. */
async function sampleCompletions(model: GPT, tokenizer: Tokenizer, prompts: string[]): Promise<string[][]> {
  const completions: string[][] = [];
  for (let start = 0; start < prompts.length; start += 8) {
    const rows = prompts.slice(start, start + 8).flatMap((p) => new Array<number[]>(K).fill(tokenizer.encode(p)));
    const room = model.config.blockSize - Math.max(...rows.map((r) => r.length));
    const { completions: out } = await sample(model, rows, {
      maxNewTokens: Math.min(48, room),
      temperature: 1,
      topK: 0,
      seed: 7919 * (start + 1),
      eosId: tokenizer.eosId,
    });
    for (let i = 0; i < rows.length; i += K)
      completions.push(out.slice(i, i + K).map((c) => tokenizer.decode(c.filter((t) => t !== tokenizer.eosId))));
  }
  return completions;
}

/** Ids that hash into any held-out share >= 1 %: the extra rankings are scored, never trained on. */
function extraHeldOutIds(count: number): string[] {
  const ids: string[] = [];
  for (let next = 0; ids.length < count; next++) if (idFraction(`h${next}`) < 0.01) ids.push(`h${next}`);
  return ids;
}

function rankingsBy(labelerId: string, prompts: string[], completions: string[][]): Ranking[] {
  const labeler = labelerById(labelerId);
  const rng = new Rng(1);
  const extraIds = extraHeldOutIds(prompts.length - RANKINGS);
  return prompts.map((prompt, i) => ({
    id: i < RANKINGS ? `r${i}` : extraIds[i - RANKINGS],
    prompt,
    completions: completions[i],
    order: rankCompletions(
      labeler,
      completions[i].map((c) => prompt + c),
      { noise: 0, rng },
    ),
    createdAt: 0,
    source: 'labeler',
    labelerId,
  }));
}

/** Trains a fresh reward model on the first 80 rankings with the defaults; held-out figures over the rest too. */
async function heldOutFigures(model: GPT, tokenizer: Tokenizer, rankings: Ranking[]): Promise<Metrics> {
  const rm = RewardModel.fromPolicy(model, REWARD_DEFAULTS.seed);
  // K rows per ranking rather than the app's 9: the padding rows weigh nothing, so the figures are the same
  const stage = new RewardStage(rm, tokenizer, rankings.slice(0, RANKINGS), REWARD_DEFAULTS, { maxCompletions: K });
  while (stage.stepsDone < stage.totalSteps) await stage.step();
  stage.addRankings(rankings.slice(RANKINGS));
  const m = await stage.evaluateHeldOut();
  stage.dispose();
  rm.dispose();
  expect(m.rankings).toBeGreaterThanOrEqual(EXTRA_HELD_OUT);
  expect(m.pairs).toBe(m.rankings * 6);
  return m;
}

/** Held-out figures of each labeler, printed as the report gives them. */
async function figures(model: GPT, tokenizer: Tokenizer, labelers: string[]): Promise<Record<string, Metrics>> {
  const prompts = generatePrompts(7, RANKINGS + EXTRA_HELD_OUT);
  const completions = await sampleCompletions(model, tokenizer, prompts);
  const out: Record<string, Metrics> = {};
  for (const id of labelers) {
    const m = (out[id] = await heldOutFigures(model, tokenizer, rankingsBy(id, prompts, completions)));
    const pc = (x: number) => (100 * x).toFixed(1);
    console.log(
      `${model.config.nEmbd}-wide model, ${id}: held-out pair accuracy ${pc(m.pair_accuracy)} % [${pc(m.pair_accuracy_low)}, ${pc(m.pair_accuracy_high)}] of ${m.pairs} pairs, ${m.rankings} rankings`,
    );
  }
  return out;
}

const aboveChance = (m: Metrics) => !isIndistinguishableFromChance({ low: m.pair_accuracy_low, high: m.pair_accuracy_high });

beforeAll(useWasmBackend);

describe('reward model defaults', () => {
  it.skipIf(!fixtureExists)(
    'on the tiny fixture: >= 70 % held-out pair accuracy for short-answers, above chance for no-repetition',
    async () => {
      const { model, tokenizer } = loadPretrained();
      const got = await figures(model, tokenizer, ['short-answers', 'no-repetition']);
      expect(got['short-answers'].pair_accuracy).toBeGreaterThanOrEqual(0.7);
      expect(aboveChance(got['short-answers'])).toBe(true);
      expect(aboveChance(got['no-repetition'])).toBe(true);
      model.dispose();
    },
    180_000,
  );

  it.skipIf(!process.env.RLHF_SLOW)(
    'on the shipped mini model: >= 70 % held-out pair accuracy, above chance, for at least two labelers',
    async () => {
      const checkpoint = decodeCheckpoint(new Uint8Array(readFileSync(SHIPPED)));
      const model = modelFromCheckpoint(checkpoint);
      const got = await figures(model, checkpoint.tokenizer, ['short-answers', 'happy-endings', 'no-repetition']);
      const reached = Object.values(got).filter((m) => m.pair_accuracy >= 0.7 && aboveChance(m));
      expect(reached.length).toBeGreaterThanOrEqual(2);
      model.dispose();
    },
    1_800_000,
  );
});
