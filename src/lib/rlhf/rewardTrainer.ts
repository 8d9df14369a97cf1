/**
 * Stage 2, reward-model training on K-way rankings (InstructGPT Eq. 1):
 *   loss(theta) = -1/C(K,2) * E_{(x, y_w, y_l)} [ log sigmoid(r_theta(x, y_w) - r_theta(x, y_l)) ]
 * All C(K,2) pairs of a ranking go in the same batch (its K completions are scored once), never
 * shuffled apart. Batches have fixed shapes: rankings_per_batch * maxCompletions rows (unused rows
 * are zero-weight dummies) and a pair matrix of rankings_per_batch * C(maxCompletions, 2) rows; unless the
 * options fix them, maxCompletions and the positions grow to the largest K and longest pair seen.
 */
import * as tf from '@tensorflow/tfjs';
import type { Tokenizer } from '../data/tokenizer';
import { Rng } from '../data/rng';
import { AdamW, readStep, type LossWithMetrics } from '../train/adamw';
import { accumulateInParts, PartSizer } from '../train/parts';
import type { Metrics, Stage } from '../train/loop';
import { cosineLr } from '../train/schedule';
import { hashFraction } from '../data/hash';
import { pairDiffs, rankingLoss } from './losses';
import { MAX_COMPLETIONS, pairMatrix, pairMetrics, type Ranking } from './rankings';
import { scorePairs, type RewardModel } from './rewardModel';
import { clusteredWilson, wilsonInterval } from './stats';
import { encodePair, packSequences, sequenceTensors, type SequenceRows, type TokenPair } from './sequences';
import type { Demonstration } from './sft';
import { defaultsOf, float, hidden, int, SEED, type SettingsOf } from '../settings';
import type { HeldOutAccuracy } from '../types';

/** The reward model's settings: defaults, ranges and explanations, the one source for the form and the code. */
export const REWARD_SETTINGS = [
  // 4 epochs at 1e-3: 80 rankings (K = 4) by a built-in labeler reach 72-82 % held-out pair accuracy on the shipped model
  // for three labelers (the earlier 2 epochs at 3e-4 gave about 60 % on the tiny model); rlhf-stage-reward-defaults.test.ts checks it
  int(
    'epochs',
    'Epochs',
    4,
    1,
    100,
    'Passes over the rankings. The paper trains for one epoch on tens of thousands of rankings to avoid over-fitting; a few dozen need more passes.',
  ),
  int(
    'rankings_per_batch',
    'Rankings per batch',
    4,
    1,
    64,
    'Rankings per step; all K(K-1)/2 pairs of a ranking go in the same batch (Eq. 1).',
  ),
  // the highest that still trains (scripts/lr-ceiling.ts, tiny fixture, 80 rankings): held-out pair accuracy 0.61 -> 0.91
  // at 0.01, 0.82 at 0.03, 0.66 at 0.1 (1e-3: 0.92)
  float('learning_rate', 'Learning rate', 1e-3, 1e-6, 0.01, 'AdamW learning rate for the reward model (peak, with cosine decay).'),
  float('held_out_share', 'Held-out share', 0.2, 0, 0.9, 'Share of rankings kept aside to measure pair accuracy.'),
  int(
    'update_steps',
    'Steps per new ranking',
    4,
    0,
    100,
    'Incremental update: steps run each time a ranking arrives (mixed with earlier rankings).',
  ),
  SEED,
  hidden(float('weight_decay', 'Weight decay', 0.1, 0, 1, 'Decoupled AdamW weight decay.')),
  hidden(float('max_grad_norm', 'Gradient clip', 1, 0, 100, 'Clip the global gradient norm (0 = off).')),
] as const;

export type RewardSettings = SettingsOf<typeof REWARD_SETTINGS>;
export const REWARD_DEFAULTS: RewardSettings = defaultsOf(REWARD_SETTINGS);

export interface RewardStageOptions {
  /** Scored after training to shift the reward so that they have mean 0 (paper §3.5). */
  demonstrations?: Demonstration[];
  /** Rows reserved per ranking: the largest K accepted (default: grown to the largest K seen, at most 9). */
  maxCompletions?: number;
  /** Positions per sequence (default: grown to the longest pair seen, at most the model's context). */
  time?: number;
  /**
   * Gradient accumulation: a step's gradient is summed over parts of its rankings, each sized to hold the thread
   * about this long (from the last part's time per ranking; 0: one ranking a part), yielding in between so that
   * messages get through. Unset: a step is one part.
   */
  partMs?: number;
}

export interface EncodedRanking {
  id: string;
  pairs: TokenPair[]; // prompt + completion + eos, one per completion
  order: number[];
}

export interface RankingBatch {
  sequences: SequenceRows;
  pairMatrix: Float32Array; // [P, N]: +1 at the winner's row, -1 at the loser's
  pairWeights: Float32Array; // [P]: 1 / (rankings * C(K, 2)), 0 for padding pairs
}

/** The held-out figures of an evaluate() result, or null when nothing was held out. */
export function heldOutOf(metrics: Metrics): HeldOutAccuracy | null {
  const { pair_accuracy: accuracy, pairs, pair_accuracy_low: low, pair_accuracy_high: high } = metrics;
  return accuracy === undefined || !(pairs > 0) ? null : { accuracy, pairs, low, high };
}

/** The same ranking always lands on the same side of the split. */
export function isHeldOut(id: string, heldOutShare: number): boolean {
  return hashFraction(id) < heldOutShare;
}

const choose2 = (k: number) => (k * (k - 1)) / 2;

/**
 * Fixed-shape batch of up to `slots` rankings: ranking i's completions in rows i*maxK .. i*maxK+K-1,
 * its pairs in pair rows i*C(maxK,2) ...; padding rows hold a dummy pair and padding pairs weigh 0.
 */
export function rankingBatch(rankings: EncodedRanking[], slots: number, maxK: number, time: number, eosId: number): RankingBatch {
  const rows = slots * maxK;
  const layout = { rows, pairRows: slots * choose2(maxK), firstRow: (i: number) => i * maxK, firstPair: (i: number) => i * choose2(maxK) };
  const pairs = pairMatrix(
    rankings.map((r) => r.order),
    layout,
  );
  const dummy: TokenPair = { prompt: [eosId], response: [eosId] };
  const placed: TokenPair[] = [];
  rankings.forEach((r, slot) => {
    for (let k = 0; k < maxK; k++) placed[slot * maxK + k] = r.pairs[k] ?? dummy;
  });
  for (let row = 0; row < rows; row++) placed[row] ??= dummy;
  const sequences = packSequences(placed, time, eosId, rows);
  for (let row = 0; row < rows; row++) if (placed[row] === dummy) sequences.lastIndex[row] = 0;
  return { sequences, pairMatrix: pairs.matrix, pairWeights: pairs.weights };
}

export class RewardStage implements Stage {
  readonly name = 'reward';
  readonly totalSteps: number;
  stepsDone = 0;
  updatesDone = 0;
  readonly settings: RewardSettings;
  /** Positions per sequence and rows per ranking: fixed by the options, else grown to the longest pair and largest K seen. */
  time: number;
  maxCompletions: number;
  private readonly fixedShape: boolean;
  private rm: RewardModel;
  private readonly tokenizer: Tokenizer;
  private readonly train: EncodedRanking[] = [];
  private readonly heldOut: EncodedRanking[] = [];
  private fresh: EncodedRanking[] = [];
  private readonly known = new Set<string>();
  private readonly demonstrations: TokenPair[];
  private optimizer: AdamW;
  private readonly rng: Rng;
  private order: number[] = [];
  /** With RewardStageOptions.partMs: sizes the parts of a step. */
  private readonly partSizer?: PartSizer;

  constructor(
    rm: RewardModel,
    tokenizer: Tokenizer,
    rankings: Ranking[],
    settings: Partial<RewardSettings> = {},
    options: RewardStageOptions = {},
  ) {
    this.rm = rm;
    this.tokenizer = tokenizer;
    this.settings = { ...REWARD_DEFAULTS, ...settings };
    // Padding every ranking to 9 rows of the whole context cost 2-4x on wasm for K = 4 and short answers; the shape
    // grows instead (a new shape compiles new WebGPU kernels once). Pairs that fit score exactly as before.
    if (options.partMs !== undefined) this.partSizer = new PartSizer(options.partMs);
    this.fixedShape = options.maxCompletions !== undefined || options.time !== undefined;
    this.maxCompletions = options.maxCompletions ?? (this.fixedShape ? MAX_COMPLETIONS : 2);
    this.time = Math.min(options.time ?? (this.fixedShape ? rm.trunk.config.blockSize : 8), rm.trunk.config.blockSize);
    this.demonstrations = (options.demonstrations ?? []).map((d) => encodePair(tokenizer, d.prompt, d.response, true));
    this.demonstrations.forEach((pair) => this.growTo(pair, 2));
    this.rng = new Rng(this.settings.seed);
    this.optimizer = this.newOptimizer();
    this.addRankings(rankings);
    this.fresh = [];
    this.totalSteps = this.settings.epochs * Math.ceil(this.train.length / this.settings.rankings_per_batch);
  }

  private newOptimizer(): AdamW {
    return new AdamW(this.rm.variables(), { weightDecay: this.settings.weight_decay, maxGradNorm: this.settings.max_grad_norm });
  }

  get rewardModel(): RewardModel {
    return this.rm;
  }

  get counts(): { train: number; heldOut: number } {
    return { train: this.train.length, heldOut: this.heldOut.length };
  }

  private rowsPerBatch(): number {
    return this.settings.rankings_per_batch * this.maxCompletions;
  }

  /** Unless the shape is fixed: room for this pair (positions rounded up to 8) and for k rows per ranking. */
  private growTo(pair: TokenPair, k: number): void {
    if (this.fixedShape) return;
    const length = Math.ceil((pair.prompt.length + pair.response.length) / 8) * 8;
    this.time = Math.min(Math.max(this.time, length), this.rm.trunk.config.blockSize);
    this.maxCompletions = Math.min(Math.max(this.maxCompletions, k), MAX_COMPLETIONS);
  }

  private encode(r: Ranking): EncodedRanking {
    if (!this.fixedShape) r.completions.forEach((c) => this.growTo(encodePair(this.tokenizer, r.prompt, c, true), r.completions.length));
    if (r.completions.length > this.maxCompletions) {
      throw new Error(`a ranking of ${r.completions.length} completions does not fit this stage (at most ${this.maxCompletions})`);
    }
    return { id: r.id, pairs: r.completions.map((c) => encodePair(this.tokenizer, r.prompt, c, true)), order: r.order };
  }

  /** New rankings (ids seen before are skipped); the training ones are mixed into the next update() batches. */
  addRankings(rankings: Ranking[]): void {
    for (const r of rankings) {
      if (this.known.has(r.id)) continue;
      this.known.add(r.id);
      const encoded = this.encode(r);
      if (isHeldOut(r.id, this.settings.held_out_share)) this.heldOut.push(encoded);
      else {
        this.train.push(encoded);
        this.fresh.push(encoded);
      }
    }
  }

  /** Rankings of step `stepsDone`: a fresh shuffle each epoch; the last batch of an epoch may be short. */
  private nextRankings(): EncodedRanking[] {
    const perBatch = this.settings.rankings_per_batch;
    const perEpoch = Math.ceil(this.train.length / perBatch);
    const inEpoch = this.stepsDone % perEpoch;
    if (inEpoch === 0) this.order = this.rng.shuffle(this.train.map((_, i) => i));
    return this.order.slice(inEpoch * perBatch, (inEpoch + 1) * perBatch).map((i) => this.train[i]);
  }

  private async trainOn(rankings: EncodedRanking[], lr: number): Promise<Metrics> {
    if (!this.partSizer) this.optimizer.accumulate(() => this.stepLoss(rankings, this.settings.rankings_per_batch, 1));
    else await this.accumulateInParts(rankings, this.partSizer);
    const metrics = await readStep(this.optimizer.applyAccumulated(lr));
    return { ...metrics, lr };
  }

  /**
   * Eq. 1 on `rankings` (in a batch of `slots` ranking slots) times `share`, its part of the step: with the pair weights 1 / (rankings in the part * C(K,2)), a part's loss times its share of the step's
   * rankings, summed over parts, is the whole step's loss. batch_accuracy is weighted by the part's share of pairs.
   */
  private stepLoss(rankings: EncodedRanking[], slots: number, share: number, pairShare = share): LossWithMetrics {
    const { sequences, pairMatrix, pairWeights } = rankingBatch(rankings, slots, this.maxCompletions, this.time, this.tokenizer.eosId);
    const batch = sequenceTensors(sequences);
    const pairs = tf.tensor2d(pairMatrix, [pairWeights.length, sequences.rows]);
    const weights = tf.tensor1d(pairWeights);
    const scores = this.rm.scores(batch.ids, batch.lastIndex);
    const diffs = pairDiffs(scores, pairs);
    const loss = rankingLoss(diffs, weights);
    const counted = tf.cast(tf.greater(weights, 0), 'float32');
    const accuracy = tf.div(tf.sum(tf.mul(counted, tf.cast(tf.greater(diffs, 0), 'float32'))), tf.sum(counted)) as tf.Scalar;
    if (share === 1 && pairShare === 1) return { loss, metrics: { batch_accuracy: accuracy } };
    return { loss: tf.mul(loss, share) as tf.Scalar, metrics: { batch_accuracy: tf.mul(accuracy, pairShare) as tf.Scalar } };
  }

  /** A step's gradient over parts of its rankings, with a yield between parts (RewardStageOptions.partMs). */
  private async accumulateInParts(rankings: EncodedRanking[], sizer: PartSizer): Promise<void> {
    const pairsIn = (rs: EncodedRanking[]) => rs.reduce((n, r) => n + choose2(r.order.length), 0);
    const totalPairs = pairsIn(rankings);
    await accumulateInParts(this.optimizer, rankings.length, sizer, (from, to) => {
      const part = rankings.slice(from, to);
      return this.stepLoss(part, part.length, part.length / rankings.length, pairsIn(part) / totalPairs);
    });
  }

  async step(): Promise<Metrics> {
    const lr = cosineLr(this.stepsDone, this.totalSteps, this.settings.learning_rate);
    const metrics = await this.trainOn(this.nextRankings(), lr);
    this.stepsDone += 1;
    this.fresh = [];
    if (this.stepsDone === this.totalSteps) await this.normalise();
    return metrics;
  }

  /**
   * Incremental training after new rankings arrived: `steps` (default update_steps) steps, each on up to
   * half a batch of the new rankings, filled up with earlier ones; the optimizer state carries over.
   */
  async update(steps = this.settings.update_steps): Promise<Metrics> {
    if (this.train.length === 0 || steps <= 0) return {};
    const perBatch = this.settings.rankings_per_batch;
    const freshPerBatch = Math.min(this.fresh.length, Math.ceil(perBatch / 2));
    const sums: Metrics = {};
    for (let s = 0; s < steps; s++) {
      const chosen = Array.from({ length: freshPerBatch }, (_, i) => this.fresh[(s * freshPerBatch + i) % this.fresh.length]);
      const earlier = this.train.filter((r) => !chosen.includes(r));
      this.rng.shuffle(earlier);
      chosen.push(...earlier.slice(0, perBatch - chosen.length));
      const metrics = await this.trainOn(chosen, this.settings.learning_rate);
      for (const [k, v] of Object.entries(metrics)) sums[k] = (sums[k] ?? 0) + v / steps;
    }
    this.fresh = [];
    this.updatesDone += steps;
    await this.normalise();
    return sums;
  }

  /** Shifts the reward so that the demonstrations score mean 0 (paper §3.5); returns their mean before. */
  async normalise(): Promise<number> {
    if (this.demonstrations.length === 0) return 0;
    const scores = await scorePairs(this.rm, this.demonstrations, this.time, this.tokenizer.eosId, this.rowsPerBatch());
    const mean = scores.reduce((s, x) => s + x, 0) / scores.length;
    this.rm.normalise(mean);
    return mean;
  }

  /**
   * Held-out pair accuracy with the number of pairs it rests on and its 95 % interval (clustered by ranking),
   * margin (mean r_w - r_l) and the mean and spread of the rewards: the keys the charts and the panel read.
   */
  async evaluate(): Promise<Metrics> {
    const all = await this.evaluateHeldOut();
    if (!('pair_accuracy' in all)) return {};
    const { pair_accuracy, pairs, pair_accuracy_low, pair_accuracy_high, margin, reward_mean, reward_std } = all;
    return { pair_accuracy, pairs, pair_accuracy_low, pair_accuracy_high, margin, reward_mean, reward_std };
  }

  /**
   * evaluate()'s figures plus how many pairs and rankings they rest on and a 95 % interval for the accuracy.
   * The pairs of one ranking are correlated (they share its K completions), so pair_accuracy_low/high is a
   * Wilson interval at the effective number of pairs, pairs / design effect, the design effect estimated
   * from how much the per-ranking accuracies spread (clusteredWilson in stats.ts; it is never below 1).
   * pair_accuracy_naive_low/high treat every pair as an independent trial: narrower, and too optimistic
   * when rankings are right or wrong as a whole. Verdict: isIndistinguishableFromChance({ low, high }).
   */
  async evaluateHeldOut(): Promise<Metrics> {
    if (this.heldOut.length === 0) return {};
    const scores = await scorePairs(
      this.rm,
      this.heldOut.flatMap((r) => r.pairs),
      this.time,
      this.tokenizer.eosId,
      this.rowsPerBatch(),
    );
    let marginSum = 0;
    let offset = 0;
    const clusters: { correct: number; pairs: number }[] = [];
    for (const r of this.heldOut) {
      const m = pairMetrics(scores.slice(offset, offset + r.pairs.length), r.order);
      clusters.push({ correct: m.correct, pairs: m.pairs });
      marginSum += m.marginSum;
      offset += r.pairs.length;
    }
    const acc = clusteredWilson(clusters);
    const naive = wilsonInterval(acc.share * acc.n, acc.n);
    const mean = scores.reduce((s, x) => s + x, 0) / scores.length;
    const std = Math.sqrt(scores.reduce((s, x) => s + (x - mean) ** 2, 0) / scores.length);
    return {
      pair_accuracy: acc.share,
      margin: marginSum / acc.n,
      reward_mean: mean,
      reward_std: std,
      pairs: acc.n,
      rankings: acc.clusters,
      pairs_effective: acc.effectiveN,
      pair_accuracy_low: acc.low,
      pair_accuracy_high: acc.high,
      pair_accuracy_naive_low: naive.low,
      pair_accuracy_naive_high: naive.high,
    };
  }

  /** The reward model's scores for completions of one prompt (for showing its predicted order). */
  async predict(prompt: string, completions: string[]): Promise<number[]> {
    return (await this.predictMany([{ prompt, completions }]))[0];
  }

  /**
   * predict() for several prompts in one pass, padded to the rows used (not a whole training batch): each padded
   * forward pass of the mini model costs about 0.8 s on wasm, so one per task or sample added seconds.
   */
  async predictMany(items: { prompt: string; completions: string[] }[]): Promise<number[][]> {
    const pairs = items.flatMap(({ prompt, completions }) => completions.map((c) => encodePair(this.tokenizer, prompt, c, true)));
    if (pairs.length === 0) return items.map(() => []);
    const scores = await scorePairs(this.rm, pairs, this.time, this.tokenizer.eosId, Math.min(pairs.length, this.rowsPerBatch()));
    let offset = 0;
    return items.map(({ completions }) => scores.slice(offset, (offset += completions.length)));
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
