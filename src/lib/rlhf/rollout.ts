/**
 * PPO rollouts: the policy writes responses to a batch of prompts, then everything the update needs
 * is computed once, with the policy as it was when sampling:
 *   logp, logp_ref   per-token log-probs of the sampled tokens (logits / temperature, both models)
 *   score            r(x, y) at the last response token, minus missing_eos_penalty for a response that never ended
 *   reward_t         -beta * KL_t, plus the score on the step that wrote the last token
 *   values, A, R     value model V(s_t); GAE advantages (whitened) and returns
 * All per-token tensors are [B, T] in target columns (column t predicts token t + 1).
 */
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt';
import { logProbsAt } from '../model/logprobs';
import { sample, type SampleOptions } from '../model/sampler';
import { Rng } from '../data/rng';
import type { Tokenizer } from '../data/tokenizer';
import { gaeTensor, whiten } from './advantages';
import { klK3PerSequence, perTokenRewards, type KlEstimator } from './kl';
import { entropyFromLogits } from './losses';
import type { RewardModel } from './rewardModel';
import {
  batchRows,
  disposeSequenceTensors,
  packSequences,
  sequenceTensors,
  type SequenceRows,
  type SequenceTensors,
  type TokenPair,
} from './sequences';
import { runInParts, type PartSizer } from '../train/parts';

/** Token budget of a rollout: prompts are cut from the left to promptTokens; rows are `time` = promptTokens + responseTokens long. */
export interface RolloutShape {
  promptTokens: number;
  responseTokens: number;
  time: number;
}

/** The shortest fixed row length that holds the longest prompt (within the context) and a full response. */
export function rolloutShape(promptLengths: number[], blockSize: number, responseLength: number): RolloutShape {
  const responseTokens = Math.max(1, Math.min(responseLength, blockSize - 1));
  const promptTokens = Math.max(1, Math.min(Math.max(1, ...promptLengths), blockSize - responseTokens));
  return { promptTokens, responseTokens, time: promptTokens + responseTokens };
}

/** Endless seeded shuffles of a prompt list: each pass visits every prompt once. */
export class PromptCycle {
  private readonly rng: Rng;
  private order: number[] = [];
  private next = 0;

  constructor(
    private readonly count: number,
    seed: number,
  ) {
    if (count < 1) throw new Error('PPO needs at least one prompt');
    this.rng = new Rng(seed);
  }

  take(n: number): number[] {
    return Array.from({ length: n }, () => {
      if (this.next === this.order.length) {
        this.order = this.rng.shuffle(Array.from({ length: this.count }, (_, i) => i));
        this.next = 0;
      }
      return this.order[this.next++];
    });
  }
}

export interface Responses {
  pairs: TokenPair[]; // prompt (as cut) and response tokens (with the eos where it ended)
  texts: string[]; // the decoded responses
  finished: boolean[]; // whether each response emitted eos
}

/** Samples a response to every prompt (prompt tokens cut from the left to the shape's budget). */
export async function writeResponses(
  model: GPT,
  tokenizer: Tokenizer,
  prompts: number[][],
  shape: RolloutShape,
  opts: Pick<SampleOptions, 'temperature' | 'seed' | 'onToken' | 'prefillParts'>,
): Promise<Responses> {
  const cut = prompts.map((p) => p.slice(Math.max(0, p.length - shape.promptTokens)));
  const { completions, finished } = await sample(model, cut, {
    maxNewTokens: shape.responseTokens,
    temperature: opts.temperature,
    topK: 0,
    seed: opts.seed,
    eosId: tokenizer.eosId,
    onToken: opts.onToken,
    prefillParts: opts.prefillParts,
  });
  return {
    pairs: cut.map((prompt, i) => ({ prompt, response: completions[i] })),
    texts: completions.map((c) => tokenizer.decode(c)),
    finished,
  };
}

export interface ScoringModels {
  policy: GPT;
  reference: GPT;
  valueModel: RewardModel;
  /** Omitted when the scores come from a reward function instead. */
  rewardModel?: RewardModel;
}

export interface ScoringSettings {
  temperature: number;
  klCoef: number;
  kl_estimator: KlEstimator;
  missing_eos_penalty: number;
  gamma: number;
  lam: number;
  whiten_rewards: boolean;
}

/** What the PPO update needs, kept on the device until the iteration ends. */
export interface ScoredRollouts {
  sequences: SequenceRows;
  batch: SequenceTensors;
  oldLogp: tf.Tensor2D;
  oldValues: tf.Tensor2D;
  advantages: tf.Tensor2D;
  returns: tf.Tensor2D;
  /**
   * [8, B]: score, per-sequence sums of KL (the kl_estimator's), non-score reward, -logp, response tokens, finished, sum
   * of per-token entropy, and of the k3 estimate (never negative, whatever the estimator: the sample stream shows it).
   */
  perSequence: tf.Tensor2D;
}

export const PER_SEQUENCE_ROWS = ['score', 'kl', 'non_score_reward', 'neg_logp', 'tokens', 'finished', 'entropy', 'kl_k3'] as const;

/** logits / T (T = 1 skips the division). */
export function atTemperature<T extends tf.Tensor>(logits: T, temperature: number): T {
  return temperature === 1 ? logits : (tf.div(logits, temperature) as T);
}

/** Per row of a batch: the forward passes of the four models that scoring needs. */
interface Forwards {
  logp: tf.Tensor2D;
  refLogp: tf.Tensor2D;
  values: tf.Tensor2D;
  /** The reward model's score (absent when the scores come from a reward function). */
  modelScore?: tf.Tensor1D;
  /** Per row, the sum over response tokens of the policy's entropy at the sampling temperature. */
  entropy: tf.Tensor1D;
}

function forwards(models: ScoringModels, batch: SequenceTensors, temperature: number, withScores: boolean): Forwards {
  return tf.tidy(() => {
    const { ids, targets, targetMask: mask, lastIndex } = batch;
    const logits = models.policy.logits(ids);
    return {
      logp: logProbsAt(logits, targets, temperature),
      refLogp: logProbsAt(models.reference.logits(ids), targets, temperature),
      values: models.valueModel.values(ids),
      modelScore: withScores ? models.rewardModel!.scores(ids, lastIndex) : undefined,
      entropy: tf.sum(tf.mul(entropyFromLogits(atTemperature(logits, temperature)), mask), 1) as tf.Tensor1D,
    };
  });
}

/**
 * The forward passes in parts of rows sized by `sizer`, yielding between them (train/parts.ts), then joined; null
 * when `stop()` said so between parts. Without a sizer, one pass over the whole batch.
 */
async function forwardsInParts(
  models: ScoringModels,
  batch: SequenceTensors,
  temperature: number,
  withScores: boolean,
  parts?: { sizer: PartSizer; stop?: () => boolean },
): Promise<Forwards | null> {
  if (!parts) return forwards(models, batch, temperature, withScores);
  const done: Forwards[] = [];
  const finished = await runInParts(
    batch.ids.shape[0],
    parts.sizer,
    (from, to) => {
      const part = batchRows(batch, from, to);
      done.push(forwards(models, part, temperature, withScores));
      tf.dispose(Object.values(part));
    },
    parts.stop,
  );
  const dropAll = () => done.forEach((f) => tf.dispose(Object.values(f)));
  if (!finished) {
    dropAll();
    return null;
  }
  const join = <K extends keyof Forwards>(key: K) => tf.concat(done.map((f) => f[key]!)) as NonNullable<Forwards[K]>;
  const joined = {
    logp: join('logp'),
    refLogp: join('refLogp'),
    values: join('values'),
    modelScore: withScores ? join('modelScore') : undefined,
    entropy: join('entropy'),
  };
  dropAll();
  return joined;
}

/**
 * Scores a batch of responses. `rewardScores` (one per row) replaces the reward model's score when
 * given (a reward function, e.g. a simulated labeler's gold score). With `parts`, the forward passes run in parts
 * of rows that let the event loop in between; null when its `stop()` stopped them (nothing is kept).
 */
export async function scoreRollouts(
  models: ScoringModels,
  responses: Responses,
  time: number,
  eosId: number,
  s: ScoringSettings,
  rewardScores?: number[],
  parts?: { sizer: PartSizer; stop?: () => boolean },
): Promise<ScoredRollouts | null> {
  const sequences = packSequences(responses.pairs, time, eosId, responses.pairs.length, time - 1);
  const batch = sequenceTensors(sequences);
  const f = await forwardsInParts(models, batch, s.temperature, !rewardScores, parts);
  if (!f) {
    disposeSequenceTensors(batch);
    return null;
  }
  const kept = tf.tidy(() => {
    const { targetMask: mask, lastIndex } = batch;
    const { logp, refLogp, values } = f;
    const finished = tf.tensor1d(
      responses.finished.map((x) => (x ? 1 : 0)),
      'float32',
    );
    const modelScore = rewardScores ? tf.tensor1d(rewardScores) : f.modelScore!;
    const score = tf.sub(modelScore, tf.mul(s.missing_eos_penalty, tf.sub(1, finished))) as tf.Tensor1D;
    // r_t = -beta * KL_t + [t == last] * score; the last token is written by column lastIndex - 1
    const lastTarget = tf.sub(lastIndex, 1) as tf.Tensor1D;
    const { rewards: raw, nonScore, kl } = perTokenRewards(score, logp, refLogp, mask, lastTarget, s.klCoef, s.kl_estimator);
    const rewards = s.whiten_rewards ? (whiten(raw, mask, false) as tf.Tensor2D) : raw;
    const { advantages, returns } = gaeTensor(rewards, values, mask, s.gamma, s.lam);
    const perSequence = tf.stack([
      score,
      tf.sum(kl, 1),
      tf.sum(nonScore, 1),
      tf.neg(tf.sum(tf.mul(logp, mask), 1)),
      tf.sum(mask, 1),
      finished,
      f.entropy,
      klK3PerSequence(logp, refLogp, mask),
    ]) as tf.Tensor2D;
    return { advantages: whiten(advantages, mask) as tf.Tensor2D, returns, perSequence };
  });
  tf.dispose([f.refLogp, f.entropy, ...(f.modelScore ? [f.modelScore] : [])]);
  return { sequences, batch, oldLogp: f.logp, oldValues: f.values, ...kept };
}

export function disposeRollouts(r: ScoredRollouts): void {
  tf.dispose([
    r.batch.ids,
    r.batch.targets,
    r.batch.targetMask,
    r.batch.lastIndex,
    r.oldLogp,
    r.oldValues,
    r.advantages,
    r.returns,
    r.perSequence,
  ]);
}
