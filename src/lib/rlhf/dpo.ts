/**
 * DPO (Rafailov et al. 2023) on the person's K-way rankings, one AdamW step per step() over a batch of rankings:
 *   loss = -1/C(K,2) * sum over pairs (y_w above y_l) of log sigmoid( beta * [ (log pi(y_w|x) - log pi_ref(y_w|x))
 *                                                                         - (log pi(y_l|x) - log pi_ref(y_l|x)) ] )
 * averaged over the rankings of the batch (losses.ts dpoLoss), with log pi(y|x) summed over the response tokens. No
 * reward model and no sampling: the policy itself is the reward model, r(x, y) = beta * log(pi(y|x) / pi_ref(y|x)).
 * The batch and pair matrix are Eq. 1's (rankingSet.ts); the reference is a frozen copy of the starting model, whose
 * log-probabilities are computed once per ranking. Rankings added while it runs (addRankings) join at the next step.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../data/rng';
import type { Tokenizer } from '../data/tokenizer';
import type { GPT } from '../model/gpt';
import { summedLogProbs } from '../model/logprobs';
import { defaultsOf, float, hidden, int, SEED, type SettingsOf } from '../settings';
import { AdamW, readStep, type LossWithMetrics } from '../train/adamw';
import type { Metrics, Stage } from '../train/loop';
import { accumulateInParts, scaledPart, type PartSizer } from '../train/parts';
import { LastGoodWeights, StepControl, StepInFlight, type Phase, type StepControlOptions } from '../train/pausable';
import { dpoLoss } from './losses';
import { mean, responseMetrics, type PromptResponse } from './metrics';
import type { Ranking } from './rankings';
import {
  HELD_OUT_SHARE,
  heldOutFigures,
  RankingSet,
  RANKINGS_PER_BATCH,
  type EncodedRanking,
  type RankingShapeOptions,
} from './rankingSet';
import { rolloutShape, writeResponses, type RolloutShape } from './rollout';
import { sampleResponses } from './sampling';
import { disposeSequenceTensors, packSequences, sequenceTensors, type TokenPair } from './sequences';

/** DPO's settings: defaults (TRL's where it has one), ranges and explanations, the one source for the form and the code. */
export const DPO_SETTINGS = [
  int('epochs', 'Epochs', 4, 1, 100, 'Passes over the rankings (rankings added during the run join at the next step).'),
  RANKINGS_PER_BATCH,
  float(
    'beta',
    'β',
    0.1,
    0.001,
    10,
    'Scale of the implicit reward β·log(π/π_ref): a small β lets the policy move far from the reference. TRL: 0.1.',
  ),
  // on the tiny fixture (rlhf-stage-dpo-learning.test.ts) 1e-4 and more over-shoot: the held-out accuracy still rises
  // but the gold score of the policy's own responses falls (short-answers: responses of under 3 words)
  float('learning_rate', 'Learning rate', 3e-5, 1e-7, 0.01, 'AdamW learning rate for the policy.'),
  float(
    'label_smoothing',
    'Label smoothing',
    0,
    0,
    0.49,
    'Share of pairs taken as mislabelled (conservative DPO, TRL label_smoothing); 0 is DPO.',
  ),
  HELD_OUT_SHARE,
  float('temperature', 'Temperature', 1, 0.05, 3, 'Sampling temperature of the policy’s responses (evaluation, ranking tasks).'),
  int('response_length', 'Max response tokens', 48, 4, 512, 'Longest response the policy writes when sampled.'),
  SEED,
  hidden(float('weight_decay', 'Weight decay', 0, 0, 1, 'Decoupled AdamW weight decay.')),
  hidden(float('max_grad_norm', 'Gradient clip', 1, 0, 100, 'Clip the global gradient norm (0 = off).')),
] as const;

export type DpoSettings = SettingsOf<typeof DPO_SETTINGS>;
export const DPO_DEFAULTS: DpoSettings = defaultsOf(DPO_SETTINGS);

/** Where a step is: the reference's log-probabilities of new rankings, then the update. */
export type DpoPhase = Phase<'reference' | 'update'>;
/** Progress, pause and parts, as PPO's (train/pausable.ts): a pause between parts redoes the update on resume. */
export type DpoControl = StepControlOptions<DpoPhase['name']>;

/** What the reference is a frozen copy of: the SFT model, or the policy as DPO found it when no SFT ran. */
export type ReferenceSource = 'sft' | 'policy';

export interface DpoStageOptions {
  /** Trained in place (pass sft.clone() to keep the SFT model). */
  policy: GPT;
  tokenizer: Tokenizer;
  rankings: Ranking[];
  /** The frozen reference (default: a frozen clone of the policy as given). Not owned when given (e.g. restored). */
  reference?: GPT;
  /** What the policy as given is (default 'policy'): said by referenceSource. */
  startsFrom?: ReferenceSource;
  /** Prompts whose sampled responses evaluate() scores (objective/gold, objective/kl); none: no sampling. */
  evalPrompts?: string[];
  /** The simulated labeler's gold score of prompt + response, reported as objective/gold. */
  goldScorer?: (text: string) => number;
  settings?: Partial<DpoSettings>;
  /** Fixed batch shape (rows per ranking, positions); default: grown to the rankings (rankingSet.ts). */
  shape?: RankingShapeOptions;
  control?: DpoControl;
}

/** The batch of a step, kept across a pause. */
interface StepInProgress {
  rankings: EncodedRanking[];
}

export class DpoStage implements Stage {
  readonly name = 'dpo';
  totalSteps: number;
  stepsDone = 0;
  readonly settings: DpoSettings;
  readonly policy: GPT;
  readonly reference: GPT;
  readonly referenceSource: ReferenceSource;
  private readonly ownsReference: boolean;
  private readonly tokenizer: Tokenizer;
  private readonly rankings: RankingSet;
  /** log pi_ref(y|x) of each completion of a ranking, at the positions it was computed for (recomputed if they grow). */
  private readonly refLogps = new WeakMap<EncodedRanking, { time: number; logps: number[] }>();
  /** Training rankings that arrived during the run, first in the next batches. */
  private queued: EncodedRanking[] = [];
  private order: number[] = [];
  private cursor = 0;
  private readonly evalPrompts: string[];
  private readonly goldScorer?: (text: string) => number;
  private readonly shape: RolloutShape;
  private readonly optimizer: AdamW;
  private readonly rng: Rng;
  private readonly control: StepControl<DpoPhase['name']>;
  private readonly sizers: Record<'reference' | 'update', PartSizer>;
  private readonly inFlight = new StepInFlight<StepInProgress>();
  private readonly lastGood: LastGoodWeights;

  constructor(opts: DpoStageOptions) {
    this.settings = { ...DPO_DEFAULTS, ...opts.settings };
    const s = this.settings;
    this.control = new StepControl(opts.control);
    this.sizers = { reference: this.control.sizer(), update: this.control.sizer() };
    this.policy = opts.policy;
    this.tokenizer = opts.tokenizer;
    this.ownsReference = !opts.reference;
    this.reference = opts.reference ?? opts.policy.clone(false);
    this.referenceSource = opts.startsFrom ?? 'policy';
    this.goldScorer = opts.goldScorer;
    this.evalPrompts = opts.evalPrompts ?? [];
    const promptLengths = this.evalPrompts.map((p) => opts.tokenizer.encode(p).length);
    this.shape = rolloutShape(promptLengths, opts.policy.config.blockSize, s.response_length);
    this.rankings = new RankingSet(opts.tokenizer, opts.policy.config.blockSize, s.held_out_share, opts.shape);
    this.rankings.add(opts.rankings);
    this.rankings.takeFresh();
    this.totalSteps = s.epochs * Math.ceil(this.rankings.train.length / s.rankings_per_batch);
    this.rng = new Rng(s.seed);
    this.lastGood = new LastGoodWeights(this.policy.variables());
    this.optimizer = new AdamW(this.policy.variables(), { weightDecay: s.weight_decay, maxGradNorm: s.max_grad_norm });
  }

  get counts(): { train: number; heldOut: number } {
    return this.rankings.counts;
  }

  /** Training rankings that arrived during the run and wait for the next step. */
  get waiting(): number {
    return this.queued.length;
  }

  /**
   * Rankings that arrive while DPO runs (online DPO): the training ones are first in the next step's batch and join the
   * shuffles after it; they add the steps that train on them once (rankings that arrive one at a time before a step
   * share its batch: the plan counts the batches the queue fills). Ids seen before are skipped.
   */
  addRankings(rankings: Ranking[]): void {
    const batches = () => Math.ceil(this.queued.length / this.settings.rankings_per_batch);
    const before = batches();
    this.rankings.add(rankings);
    this.queued.push(...this.rankings.takeFresh());
    this.totalSteps += batches() - before;
  }

  async step(): Promise<Metrics> {
    if (!this.inFlight.active) this.lastGood.keep(this.stepsDone);
    const flight = await this.inFlight.run(
      async () => ({ rankings: this.nextRankings() }),
      (f) => this.accumulate(f),
    );
    if (!flight) return {}; // paused between parts: the next step() redoes this batch
    const metrics = await readStep(this.optimizer.applyAccumulated(this.settings.learning_rate));
    this.stepsDone += 1;
    return { ...metrics, lr: this.settings.learning_rate };
  }

  /** After a step whose metrics are not finite: the weights from its start and its number (0: DPO's start). */
  restoreLastGood(): number {
    this.inFlight.drop();
    this.stepsDone = this.lastGood.restore() ?? this.stepsDone;
    return this.stepsDone;
  }

  /** The next batch: rankings that arrived first, then the epoch's shuffle; the last batch of an epoch may be short. */
  private nextRankings(): EncodedRanking[] {
    const { train } = this.rankings;
    if (train.length === 0) throw new Error('DPO has no training rankings.');
    const batch = this.queued.splice(0, this.settings.rankings_per_batch);
    while (batch.length < this.settings.rankings_per_batch) {
      if (this.cursor === this.order.length) {
        if (batch.length > 0) break;
        this.order = this.rng.shuffle(train.map((_, i) => i));
        this.cursor = 0;
      }
      const next = train[this.order[this.cursor++]];
      if (!batch.includes(next)) batch.push(next);
    }
    return batch;
  }

  /** The step's gradient, whole or in parts of its rankings (each part's loss and metrics times its share); false: paused. */
  private async accumulate(flight: StepInProgress): Promise<boolean> {
    if (!(await this.referenceLogps(flight.rankings, this.control.shouldStop))) return false;
    const label = `update · ${flight.rankings.length} rankings`;
    if (await this.control.boundary({ name: 'update', label, done: 0, total: 1 })) return false;
    const { rankings } = flight;
    if (!this.control.inParts) {
      this.optimizer.accumulate(() => this.batchLoss(rankings, this.settings.rankings_per_batch));
      return true;
    }
    const part = (from: number, to: number) =>
      scaledPart(this.batchLoss(rankings.slice(from, to), to - from), (to - from) / rankings.length);
    return accumulateInParts(this.optimizer, rankings.length, this.sizers.update, part, this.control.shouldStop);
  }

  /**
   * The DPO loss of `rankings` in a batch of `slots` ranking slots, and TRL's metrics: means over pairs weighted as the
   * loss (each ranking counts once) of the implicit rewards and summed log-probabilities of the chosen and rejected
   * completions, their margin, and the share of pairs ordered right.
   */
  private batchLoss(rankings: EncodedRanking[], slots: number): LossWithMetrics {
    const { sequences, pairMatrix, pairWeights } = this.rankings.batch(rankings, slots);
    const batch = sequenceTensors(sequences);
    const pairs = tf.tensor2d(pairMatrix, [pairWeights.length, sequences.rows]);
    const weights = tf.tensor1d(pairWeights);
    const refLogps = tf.tensor1d(this.rowsOf(rankings, sequences.rows, (r) => this.refLogps.get(r)!.logps));
    const logps = summedLogProbs(this.policy, batch.ids, batch.targets, batch.targetMask);
    const { loss, rewards, diffs } = dpoLoss(logps, refLogps, pairs, weights, this.settings.beta, this.settings.label_smoothing);
    const [chosen, rejected] = [tf.relu(pairs), tf.relu(tf.neg(pairs))];
    const weighted = (m: tf.Tensor2D, x: tf.Tensor1D) => tf.sum(tf.mul(weights, tf.reshape(tf.matMul(m, tf.reshape(x, [-1, 1])), [-1])));
    const metrics = {
      'rewards/chosen': weighted(chosen, rewards),
      'rewards/rejected': weighted(rejected, rewards),
      'rewards/accuracies': tf.sum(tf.mul(weights, tf.cast(tf.greater(diffs, 0), 'float32'))),
      'rewards/margins': tf.sum(tf.mul(weights, diffs)),
      'logps/chosen': weighted(chosen, logps),
      'logps/rejected': weighted(rejected, logps),
    } as Record<string, tf.Scalar>;
    return { loss, metrics };
  }

  /** Per row of a ranking batch: the value of each ranking's completion there (0 for padding rows). */
  private rowsOf(rankings: EncodedRanking[], rows: number, values: (r: EncodedRanking) => number[]): Float32Array {
    const out = new Float32Array(rows);
    rankings.forEach((r, slot) => out.set(values(r), slot * this.rankings.maxCompletions));
    return out;
  }

  /**
   * Computes the reference log-probabilities these rankings lack: in parts (StepControl.inParts), else a batch of
   * rankings at a time; false when `stop()` said so between them (those computed are kept).
   */
  private async referenceLogps(rankings: EncodedRanking[], stop: () => boolean): Promise<boolean> {
    const time = this.rankings.time;
    const missing = rankings.filter((r) => this.refLogps.get(r)?.time !== time);
    const sizer = this.sizers.reference;
    for (let from = 0; from < missing.length;) {
      const label = `reference log-probabilities ${from}/${missing.length}`;
      this.control.onPhase?.({ name: 'reference', label, done: from, total: missing.length });
      const left = missing.length - from;
      const to = from + (this.control.inParts ? sizer.next(left) : Math.min(left, this.settings.rankings_per_batch));
      const started = performance.now();
      const logps = await this.completionLogps(this.reference, missing.slice(from, to));
      sizer.record(to - from, performance.now() - started);
      missing.slice(from, to).forEach((r, i) => this.refLogps.set(r, { time, logps: logps[i] }));
      from = to;
      await this.control.breathe();
      if (from < missing.length && stop()) return false;
    }
    return true;
  }

  /** log model(y|x) of every completion of each ranking, read back (no gradient). */
  private async completionLogps(model: GPT, rankings: EncodedRanking[]): Promise<number[][]> {
    const { sequences } = this.rankings.batch(rankings, rankings.length);
    const batch = sequenceTensors(sequences);
    const logps = summedLogProbs(model, batch.ids, batch.targets, batch.targetMask);
    const values = await logps.data();
    tf.dispose(logps);
    disposeSequenceTensors(batch);
    const maxK = this.rankings.maxCompletions;
    return rankings.map((r, slot) => Array.from(values.subarray(slot * maxK, slot * maxK + r.pairs.length)));
  }

  /**
   * Held-out preference accuracy of the implicit reward beta * log(pi/pi_ref), with its 95 % interval, under the reward
   * model's keys (pair_accuracy, pair_accuracy_low/high, pairs, margin: rankingSet.ts heldOutFigures); and, with
   * evalPrompts, the policy's responses to them (the same seed each time): objective/kl, the mean summed
   * log(pi/pi_ref) of the responses (k1), objective/gold when a gold scorer is given, objective/instruction_following.
   */
  async evaluate(): Promise<Metrics> {
    const out: Metrics = { ...(await this.heldOutFigures()) };
    if (this.evalPrompts.length === 0) return out;
    const { samples, kl } = await this.sampleWithKl(this.evalPrompts);
    return { ...out, 'objective/kl': kl, ...responseMetrics(samples, this.goldScorer) };
  }

  private async heldOutFigures(): Promise<Metrics> {
    const { heldOut } = this.rankings;
    if (heldOut.length === 0) return {};
    await this.referenceLogps(heldOut, () => false);
    const chunk = this.settings.rankings_per_batch;
    const rewards: number[] = [];
    for (let from = 0; from < heldOut.length; from += chunk) {
      const part = heldOut.slice(from, from + chunk);
      const logps = await this.completionLogps(this.policy, part);
      part.forEach((r, i) => rewards.push(...logps[i].map((lp, k) => this.settings.beta * (lp - this.refLogps.get(r)!.logps[k]))));
      await this.control.breathe();
    }
    return heldOutFigures(heldOut, rewards);
  }

  /** The policy's responses to `prompts` and the mean over them of log pi(y|x) - log pi_ref(y|x). */
  private async sampleWithKl(prompts: string[]): Promise<{ samples: PromptResponse[]; kl: number }> {
    const s = this.settings;
    const tokens = prompts.map((p) => this.tokenizer.encode(p));
    const responses = await writeResponses(this.policy, this.tokenizer, tokens, this.shape, {
      temperature: s.temperature,
      seed: s.seed,
      onToken: this.control.breathe,
    });
    const kls = await this.logRatios(responses.pairs);
    return { samples: prompts.map((prompt, i) => ({ prompt, response: responses.texts[i] })), kl: mean(kls) };
  }

  /** log pi(y|x) - log pi_ref(y|x) of each pair, at the sampling shape. */
  private async logRatios(pairs: TokenPair[]): Promise<number[]> {
    const batch = sequenceTensors(packSequences(pairs, this.shape.time, this.tokenizer.eosId, pairs.length, this.shape.promptTokens));
    const ratio = tf.tidy(() =>
      tf.sub(
        summedLogProbs(this.policy, batch.ids, batch.targets, batch.targetMask, this.settings.temperature),
        summedLogProbs(this.reference, batch.ids, batch.targets, batch.targetMask, this.settings.temperature),
      ),
    );
    const values = Array.from(await ratio.data());
    ratio.dispose();
    disposeSequenceTensors(batch);
    return values;
  }

  /** The current policy's responses to some prompts (e.g. for ranking tasks during DPO). */
  async samplePolicy(prompts: string[], seed = this.settings.seed): Promise<PromptResponse[]> {
    const opts = { temperature: this.settings.temperature, seed, onToken: this.control.breathe };
    return sampleResponses(this.policy, this.tokenizer, prompts, this.shapeFor(prompts), opts);
  }

  /** The reference's responses to the same prompts, for side-by-side comparison. */
  async sampleReference(prompts: string[], seed = this.settings.seed): Promise<PromptResponse[]> {
    const opts = { temperature: this.settings.temperature, seed, onToken: this.control.breathe };
    return sampleResponses(this.reference, this.tokenizer, prompts, this.shapeFor(prompts), opts);
  }

  private shapeFor(prompts: string[]): RolloutShape {
    const lengths = prompts.map((p) => this.tokenizer.encode(p).length);
    return rolloutShape(lengths, this.policy.config.blockSize, this.settings.response_length);
  }

  dispose(): void {
    this.inFlight.drop();
    this.optimizer.dispose();
    this.lastGood.dispose();
    if (this.ownsReference) this.reference.dispose();
  }
}
