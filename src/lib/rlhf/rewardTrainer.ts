/**
 * Stage 2, reward-model training on K-way rankings (InstructGPT Eq. 1):
 *   loss(theta) = -1/C(K,2) * E_{(x, y_w, y_l)} [ log sigmoid(r_theta(x, y_w) - r_theta(x, y_l)) ]
 * All C(K,2) pairs of a ranking go in the same batch (its K completions are scored once), never
 * shuffled apart. Batches have fixed shapes: rankings_per_batch * maxCompletions rows (unused rows
 * are zero-weight dummies) and a pair matrix of rankings_per_batch * C(maxCompletions, 2) rows; unless the
 * options fix them, maxCompletions and the positions grow to the largest K and longest pair seen (rankingSet.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { Tokenizer } from '../data/tokenizer';
import { Rng } from '../data/rng';
import { AdamW, readStep, type LossWithMetrics } from '../train/adamw';
import { accumulateInParts, PartSizer } from '../train/parts';
import type { Metrics, Stage } from '../train/loop';
import { cosineLr } from '../train/schedule';
import { pairDiffs, rankingLoss } from './losses';
import type { Ranking } from './rankings';
import {
  choose2,
  HELD_OUT_SHARE,
  heldOutFigures,
  RankingSet,
  RANKINGS_PER_BATCH,
  type EncodedRanking,
  type RankingShapeOptions,
} from './rankingSet';
import { scorePairs, type RewardModel } from './rewardModel';
import { encodePair, sequenceTensors, type TokenPair } from './sequences';
import type { Demonstration } from './sft';
import { defaultsOf, float, hidden, int, SEED, type SettingsOf } from '../settings';
import type { HeldOutAccuracy } from '../types';

export { isHeldOut, rankingBatch, type EncodedRanking, type RankingBatch } from './rankingSet';

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
  RANKINGS_PER_BATCH,
  // the highest that still trains (scripts/lr-ceiling.ts, tiny fixture, 80 rankings): held-out pair accuracy 0.61 -> 0.91
  // at 0.01, 0.82 at 0.03, 0.66 at 0.1 (1e-3: 0.92)
  float('learning_rate', 'Learning rate', 1e-3, 1e-6, 0.01, 'AdamW learning rate for the reward model (peak, with cosine decay).'),
  HELD_OUT_SHARE,
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

export interface RewardStageOptions extends RankingShapeOptions {
  /** Scored after training to shift the reward so that they have mean 0 (paper §3.5). */
  demonstrations?: Demonstration[];
  /**
   * Gradient accumulation: a step's gradient is summed over parts of its rankings, each sized to hold the thread
   * about this long (from the last part's time per ranking; 0: one ranking a part), yielding in between so that
   * messages get through. Unset: a step is one part.
   */
  partMs?: number;
}

/** How an incremental update reports and stops: its steps (default update_steps), each step's start, a stop between parts. */
export interface UpdateProgress {
  steps?: number;
  onStep?(done: number, total: number): void;
  stop?(): boolean;
}

/** The held-out figures of an evaluate() result, or null when nothing was held out. */
export function heldOutOf(metrics: Metrics): HeldOutAccuracy | null {
  const { pair_accuracy: accuracy, pairs, pair_accuracy_low: low, pair_accuracy_high: high } = metrics;
  return accuracy === undefined || !(pairs > 0) ? null : { accuracy, pairs, low, high };
}

export class RewardStage implements Stage {
  readonly name = 'reward';
  readonly totalSteps: number;
  stepsDone = 0;
  updatesDone = 0;
  /** The steps of its incremental updates (Stage.extraSteps): they come after its planned totalSteps. */
  get extraSteps(): number {
    return this.updatesDone;
  }
  readonly settings: RewardSettings;
  private rm: RewardModel;
  private readonly tokenizer: Tokenizer;
  /** The rankings, split, encoded, and the batch shape they need (rankingSet.ts). */
  private readonly rankings: RankingSet;
  private readonly demonstrations: TokenPair[];
  private optimizer: AdamW;
  private readonly rng: Rng;
  private order: number[] = [];
  /** With RewardStageOptions.partMs: sizes the parts of a step. */
  private readonly partSizer?: PartSizer;
  /** An incremental update that a stop cut short: its steps, how many are done, its metrics so far. */
  private pendingUpdate: { steps: number; done: number; sums: Metrics } | null = null;

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
    if (options.partMs !== undefined) this.partSizer = new PartSizer(options.partMs);
    this.rankings = new RankingSet(tokenizer, rm.trunk.config.blockSize, this.settings.held_out_share, options);
    this.demonstrations = (options.demonstrations ?? []).map((d) => encodePair(tokenizer, d.prompt, d.response, true));
    this.demonstrations.forEach((pair) => this.rankings.growTo(pair, 2));
    this.rng = new Rng(this.settings.seed);
    this.optimizer = this.newOptimizer();
    this.rankings.add(rankings);
    this.rankings.takeFresh();
    this.totalSteps = this.settings.epochs * Math.ceil(this.train.length / this.settings.rankings_per_batch);
  }

  private newOptimizer(): AdamW {
    return new AdamW(this.rm.variables(), { weightDecay: this.settings.weight_decay, maxGradNorm: this.settings.max_grad_norm });
  }

  get rewardModel(): RewardModel {
    return this.rm;
  }

  get counts(): { train: number; heldOut: number } {
    return this.rankings.counts;
  }

  /** Positions per sequence and rows per ranking (rankingSet.ts). */
  get time(): number {
    return this.rankings.time;
  }

  get maxCompletions(): number {
    return this.rankings.maxCompletions;
  }

  private get train(): EncodedRanking[] {
    return this.rankings.train;
  }

  private rowsPerBatch(): number {
    return this.settings.rankings_per_batch * this.maxCompletions;
  }

  /** New rankings (ids seen before are skipped); the training ones are mixed into the next update() batches. */
  addRankings(rankings: Ranking[]): void {
    this.rankings.add(rankings);
  }

  /** Rankings of step `stepsDone`: a fresh shuffle each epoch; the last batch of an epoch may be short. */
  private nextRankings(): EncodedRanking[] {
    const perBatch = this.settings.rankings_per_batch;
    const perEpoch = Math.ceil(this.train.length / perBatch);
    const inEpoch = this.stepsDone % perEpoch;
    if (inEpoch === 0) this.order = this.rng.shuffle(this.train.map((_, i) => i));
    return this.order.slice(inEpoch * perBatch, (inEpoch + 1) * perBatch).map((i) => this.train[i]);
  }

  /** One step on these rankings; null when `stop()` cut it short between its parts (its gradient is discarded). */
  private async trainOn(rankings: EncodedRanking[], lr: number, stop?: () => boolean): Promise<Metrics | null> {
    if (!this.partSizer) this.optimizer.accumulate(() => this.stepLoss(rankings, this.settings.rankings_per_batch, 1));
    else if (!(await this.accumulateInParts(rankings, this.partSizer, stop))) return null;
    const metrics = await readStep(this.optimizer.applyAccumulated(lr));
    return { ...metrics, lr };
  }

  /**
   * Eq. 1 on `rankings` (in a batch of `slots` ranking slots) times `share`, its part of the step: with the pair weights 1 / (rankings in the part * C(K,2)), a part's loss times its share of the step's
   * rankings, summed over parts, is the whole step's loss. batch_accuracy is weighted by the part's share of pairs.
   */
  private stepLoss(rankings: EncodedRanking[], slots: number, share: number, pairShare = share): LossWithMetrics {
    const { sequences, pairMatrix, pairWeights } = this.rankings.batch(rankings, slots);
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
  private accumulateInParts(rankings: EncodedRanking[], sizer: PartSizer, stop?: () => boolean): Promise<boolean> {
    const pairsIn = (rs: EncodedRanking[]) => rs.reduce((n, r) => n + choose2(r.order.length), 0);
    const totalPairs = pairsIn(rankings);
    return accumulateInParts(
      this.optimizer,
      rankings.length,
      sizer,
      (from, to) => {
        const part = rankings.slice(from, to);
        return this.stepLoss(part, part.length, part.length / rankings.length, pairsIn(part) / totalPairs);
      },
      stop,
    );
  }

  async step(): Promise<Metrics> {
    const lr = cosineLr(this.stepsDone, this.totalSteps, this.settings.learning_rate);
    const metrics = (await this.trainOn(this.nextRankings(), lr))!;
    this.stepsDone += 1;
    this.rankings.takeFresh();
    if (this.stepsDone === this.totalSteps) await this.normalise();
    return metrics;
  }

  /**
   * Incremental training after new rankings arrived: `steps` (default update_steps) steps, each on up to
   * half a batch of the new rankings, filled up with earlier ones; the optimizer state carries over.
   */
  async update(steps = this.settings.update_steps): Promise<Metrics> {
    return (await this.updateStoppably({ steps })) ?? {};
  }

  /**
   * update() that reports its steps and stops when `stop()` says so between steps or between the parts of one (null:
   * stopped, the rankings still count as new). The next call goes on with the steps left, on the rankings new by then.
   */
  async updateStoppably(progress: UpdateProgress = {}): Promise<Metrics | null> {
    const steps = this.pendingUpdate?.steps ?? progress.steps ?? this.settings.update_steps;
    if (this.train.length === 0 || steps <= 0) return {};
    const update = (this.pendingUpdate ??= { steps, done: 0, sums: {} });
    const perBatch = this.settings.rankings_per_batch;
    const fresh = this.rankings.peekFresh();
    const freshPerBatch = Math.min(fresh.length, Math.ceil(perBatch / 2));
    for (; update.done < steps; update.done++) {
      progress.onStep?.(update.done, steps);
      if (progress.stop?.()) return null;
      const s = update.done;
      const chosen = Array.from({ length: freshPerBatch }, (_, i) => fresh[(s * freshPerBatch + i) % fresh.length]);
      const earlier = this.train.filter((r) => !chosen.includes(r));
      this.rng.shuffle(earlier);
      chosen.push(...earlier.slice(0, perBatch - chosen.length));
      const metrics = await this.trainOn(chosen, this.settings.learning_rate, progress.stop);
      if (!metrics) return null;
      for (const [k, v] of Object.entries(metrics)) update.sums[k] = (update.sums[k] ?? 0) + v / steps;
    }
    progress.onStep?.(steps, steps);
    this.pendingUpdate = null;
    this.rankings.takeFresh();
    this.updatesDone += steps;
    await this.normalise();
    return update.sums;
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
   * evaluate()'s figures plus how many pairs and rankings they rest on and a 95 % interval for the accuracy
   * (heldOutFigures in rankingSet.ts).
   */
  async evaluateHeldOut(): Promise<Metrics> {
    const { heldOut } = this.rankings;
    if (heldOut.length === 0) return {};
    const scores = await scorePairs(
      this.rm,
      heldOut.flatMap((r) => r.pairs),
      this.time,
      this.tokenizer.eosId,
      this.rowsPerBatch(),
    );
    return heldOutFigures(this.rankings.heldOut, scores);
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
