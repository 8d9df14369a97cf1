/**
 * Stage 3, PPO-ptx (InstructGPT Eq. 2), one iteration per step():
 *   objective(phi) = E_{(x,y) ~ pi_RL} [ r_theta(x, y) - beta * log(pi_RL(y|x) / pi_SFT(y|x)) ] + gamma * E_{x ~ D_pretrain} [ log pi_RL(x) ]
 * Rollouts are scored once (rollout.ts); then num_ppo_epochs passes over shuffled minibatches minimise
 *   loss = clipped policy loss + vf_coef * clipped value loss + ptx_coef * LM loss on pretraining text
 * in one AdamW step over the policy and the value model together. ptx_coef = 0 gives plain PPO.
 * Elsewhere: the minibatch loss (ppoLoss.ts), settings (ppoSettings.ts), pause and resume (train/pausable.ts), the ptx
 * term (ptx.ts), the iteration's metrics (ppoMetrics.ts), sampling (sampling.ts).
 */
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt';
import { Rng } from '../data/rng';
import type { Tokenizer } from '../data/tokenizer';
import { AdamW } from '../train/adamw';
import { MetricSums } from '../train/metricSums';
import { LastGoodWeights, StepControl, StepInFlight, type Phase, type StepControlOptions } from '../train/pausable';
import type { PartSizer } from '../train/parts';
import type { Metrics, Stage } from '../train/loop';
import { AdaptiveKlController, FixedKlController, type KlController } from './kl';
import { mean, type PromptResponse } from './metrics';
import { iterationMetrics, perSequenceColumn, type PerSequenceName } from './ppoMetrics';
import { minibatchError, PPO_DEFAULTS, type PpoSettings } from './ppoSettings';
import { MinibatchLoss, type MinibatchRows } from './ppoLoss';
import { PtxText } from './ptx';
import { RewardModel, withTensors } from './rewardModel';
import {
  disposeRollouts,
  PromptCycle,
  rolloutShape,
  scoreRollouts,
  type Responses,
  type RolloutShape,
  type ScoredRollouts,
} from './rollout';
import { sampleResponses, stepResponses } from './sampling';

export { minibatchError, PPO_DEFAULTS, PPO_SETTINGS, type PpoSettings } from './ppoSettings';

/** Where an iteration is: sampling t/T tokens, scoring, an update minibatch, the ptx-only loss. */
export type PpoPhase = Phase<'sampling' | 'scoring' | 'update' | 'ptx'>;

/**
 * Optional progress and pause control. With it, an iteration reports its phases and yields to the event
 * loop at each minibatch boundary and every BREATHE_MS while sampling; when shouldStop() is true there,
 * step() returns early with no metrics and stepsDone unchanged, and the next step() resumes the same
 * iteration (a stopped sampling starts again on the same prompts and seed; after it, the same rollouts,
 * epoch and minibatch), so a paused run follows exactly the updates of an unpaused one and the counter
 * stays true. With partMs, scoring and each minibatch (rollout rows, then ptx windows) run in parts of about that
 * long, yielding between them; a pause there redoes the scoring or the minibatch whole on resume.
 */
export type PpoControl = StepControlOptions<PpoPhase['name']>;

/** An iteration between its rollouts and its last minibatch: kept across a pause. */
interface IterationInFlight {
  prompts: string[];
  responses: Responses;
  rollouts: ScoredRollouts;
  perSequence: Float32Array | Int32Array | Uint8Array;
  klCoef: number;
  sampleSeconds: number;
  scoreSeconds: number;
  updateSeconds: number;
  epoch: number;
  minibatch: number;
  order: number[] | null;
  sums: MetricSums<(typeof UPDATE_METRICS)[number]>;
  /** The minibatch under way: kept across a pause inside it, so that it is redone on the same rows and ptx text. */
  batch: MinibatchRows | null;
}

export interface PpoStageOptions {
  /** Trained in place (pass sft.clone() to keep the SFT model). */
  policy: GPT;
  tokenizer: Tokenizer;
  /** Formatted prompts for rollouts, cycled in seeded shuffles. */
  prompts: string[];
  /** The score source; not owned (a RewardStage may keep updating it). */
  rewardModel?: RewardModel;
  /** A score from text instead of a reward model (e.g. a simulated labeler's gold, for tests and experiments). */
  rewardFunction?: (prompt: string, response: string) => number;
  /** Value model to train (default: a clone of the reward model, as in the paper; else the policy with a zero head). Not owned when given. */
  valueModel?: RewardModel;
  /** The frozen reference (default: a frozen clone of the policy as given, i.e. the SFT model). Not owned when given. */
  reference?: GPT;
  /** Pretraining token stream for the ptx term. */
  pretrainTokens?: Int32Array;
  /** When a simulated labeler is active: its gold score of prompt + response, reported as objective/gold. */
  goldScorer?: (text: string) => number;
  /** Awaited before the scoring: an update of the reward model under way beside the sampling finishes first. */
  beforeScoring?: () => Promise<void>;
  settings?: Partial<PpoSettings>;
  control?: PpoControl;
}

export interface RolloutSample {
  prompt: string;
  response: string;
  score: number;
  /** KL(policy || SFT) of this response: the k3 estimate summed over its tokens (never negative; rollout.ts). */
  klK3: number;
  finished: boolean;
}

/** Per-minibatch scalars, summed on the device and read back once an iteration. */
const UPDATE_METRICS = [
  'loss/policy_avg',
  'loss/value_avg',
  'policy/approxkl_avg',
  'policy/clipfrac_avg',
  'val/clipfrac_avg',
  'val/ratio',
  'ptx/loss',
] as const;

export class PpoStage implements Stage {
  readonly name = 'ppo';
  readonly totalSteps: number;
  stepsDone = 0;
  readonly settings: PpoSettings;
  readonly shape: RolloutShape;
  readonly policy: GPT;
  readonly reference: GPT;
  readonly valueModel: RewardModel;
  /** The last iteration's rollouts, for the UI's sample stream. */
  lastSamples: RolloutSample[] = [];
  private rewardModel?: RewardModel;
  private readonly rewardFunction?: (prompt: string, response: string) => number;
  private readonly goldScorer?: (text: string) => number;
  private readonly beforeScoring?: () => Promise<void>;
  private readonly tokenizer: Tokenizer;
  private readonly prompts: string[];
  private readonly promptTokens: number[][];
  private readonly ptx?: PtxText;
  private readonly cycle: PromptCycle;
  private readonly klController: KlController;
  private readonly optimizer: AdamW;
  private readonly loss: MinibatchLoss;
  private readonly rng: Rng;
  private readonly owned: { dispose(): void }[] = [];
  private readonly control: StepControl<PpoPhase['name']>;
  private readonly inFlight = new StepInFlight<IterationInFlight>((flight) => {
    disposeRollouts(flight.rollouts);
    flight.sums.dispose();
  });
  /** The prompts of an iteration whose sampling a pause stopped: the next step() samples them again. */
  private picked: number[] | null = null;
  /** Its responses, once sampled, when a pause stopped the scoring: the next step() scores them again. */
  private sampled: { responses: Responses; seconds: number } | null = null;
  /** Size the parts of a minibatch (PpoControl.partMs), by kind: a ptx window costs about half a rollout row. */
  private readonly partSizers: Record<'rollout' | 'ptx' | 'scoring' | 'prefill', PartSizer>;
  /** The policy's and the value model's weights at the end of the last iteration: see restoreLastGood. */
  private readonly lastGood: LastGoodWeights;

  constructor(opts: PpoStageOptions) {
    this.control = new StepControl(opts.control);
    const sizer = () => this.control.sizer();
    this.partSizers = { rollout: sizer(), ptx: sizer(), scoring: sizer(), prefill: sizer() };
    if (!opts.rewardModel && !opts.rewardFunction) throw new Error('PPO needs a reward model or a reward function');
    this.settings = { ...PPO_DEFAULTS, ...opts.settings };
    const s = this.settings;
    const misfit = minibatchError(s);
    if (misfit) throw new Error(misfit);
    this.policy = opts.policy;
    this.tokenizer = opts.tokenizer;
    this.rewardModel = opts.rewardModel;
    this.rewardFunction = opts.rewardFunction;
    this.goldScorer = opts.goldScorer;
    this.beforeScoring = opts.beforeScoring;
    this.reference = opts.reference ?? this.own(opts.policy.clone(false));
    this.valueModel = opts.valueModel ?? this.own(opts.rewardModel?.clone() ?? zeroHeadValueModel(opts.policy));
    this.prompts = opts.prompts;
    this.promptTokens = opts.prompts.map((p) => opts.tokenizer.encode(p));
    this.shape = rolloutShape(
      this.promptTokens.map((p) => p.length),
      opts.policy.config.blockSize,
      s.response_length,
    );
    if (opts.pretrainTokens) this.ptx = new PtxText(opts.pretrainTokens, s.mini_batch_size, this.shape.time, s.seed + 2);
    this.totalSteps = s.iterations;
    this.cycle = new PromptCycle(opts.prompts.length, s.seed);
    this.rng = new Rng(s.seed + 1);
    this.klController = s.adaptive_kl ? new AdaptiveKlController(s.kl_coef, s.kl_target, s.kl_horizon) : new FixedKlController(s.kl_coef);
    const trained = [...this.policy.variables(), ...this.valueModel.variables()];
    this.lastGood = new LastGoodWeights(trained);
    this.optimizer = new AdamW(trained, { weightDecay: s.weight_decay, maxGradNorm: s.max_grad_norm });
    this.loss = new MinibatchLoss(this.policy, this.valueModel, s, this.ptx);
  }

  /** Models the stage made itself (the default reference and value model) are disposed with it. */
  private own<T extends { dispose(): void }>(model: T): T {
    this.owned.push(model);
    return model;
  }

  /** The next iteration scores with this reward model (e.g. after incremental ranking updates). */
  setRewardModel(rm: RewardModel): void {
    this.rewardModel = rm;
  }

  get klCoef(): number {
    return this.klController.value;
  }

  async step(): Promise<Metrics> {
    if (!this.inFlight.active && this.picked === null) this.lastGood.keep(this.stepsDone); // a fresh iteration, not a resumed one
    const flight = await this.inFlight.run(
      () => this.rollOut(),
      (f) => this.update(f),
    );
    if (!flight) return {}; // paused while sampling, scoring or at a minibatch boundary: the next step() resumes there
    disposeRollouts(flight.rollouts);
    const update = await this.updateMetrics(flight);
    return this.finishIteration(flight, update);
  }

  /**
   * After an iteration whose metrics are not finite: its updates (AdamW refuses only the non-finite ones) are undone,
   * the policy and value model get back their weights from its start, the end of the last iteration, and the count
   * goes back to that iteration, which it returns (0: the weights PPO began with).
   */
  restoreLastGood(): number {
    this.inFlight.drop();
    this.stepsDone = this.lastGood.restore() ?? this.stepsDone;
    return this.stepsDone;
  }

  /** The responses to this iteration's prompts; null when a pause stopped the sampling. */
  private async sampleRollouts(picked: number[]): Promise<{ responses: Responses; seconds: number } | null> {
    const s = this.settings;
    const started = performance.now();
    const responses = await stepResponses(
      this.policy,
      this.tokenizer,
      picked.map((i) => this.promptTokens[i]),
      this.shape,
      { ...s, step: this.stepsDone, control: this.control, prefill: this.partSizers.prefill, label: 'sampling rollouts' },
    );
    return responses && { responses, seconds: (performance.now() - started) / 1000 };
  }

  /** Samples this iteration's responses and scores them (reward, KL, values, advantages). */
  private async rollOut(): Promise<IterationInFlight | null> {
    const s = this.settings;
    const picked = (this.picked ??= this.cycle.take(s.batch_size));
    const prompts = picked.map((i) => this.prompts[i]);
    const sampled = (this.sampled ??= await this.sampleRollouts(picked));
    if (!sampled) return null;
    const { responses, seconds: sampleSeconds } = sampled;
    if (!(await this.rewardModelReady())) return null; // paused while waiting: the next step() scores the same responses

    this.control.onPhase?.({ name: 'scoring', label: 'scoring rollouts', done: 0, total: 1 });
    const started = performance.now();
    const klCoef = this.klController.value;
    const rewardScores = this.rewardFunction ? prompts.map((p, i) => this.rewardFunction!(p, responses.texts[i])) : undefined;
    const models = { policy: this.policy, reference: this.reference, valueModel: this.valueModel, rewardModel: this.rewardModel };
    const parts = this.control.inParts ? { sizer: this.partSizers.scoring, stop: this.control.shouldStop } : undefined;
    const rollouts = await scoreRollouts(models, responses, this.shape.time, this.tokenizer.eosId, { ...s, klCoef }, rewardScores, parts);
    if (!rollouts) return null; // paused while scoring: the next step() scores the same responses again
    this.picked = null;
    this.sampled = null;
    const perSequence = await rollouts.perSequence.data();
    const scoreSeconds = (performance.now() - started) / 1000;
    const sums = new MetricSums(UPDATE_METRICS);
    const cursor = { epoch: 0, minibatch: 0, order: null, batch: null, updateSeconds: 0 };
    return { prompts, responses, rollouts, perSequence, klCoef, sampleSeconds, scoreSeconds, sums, ...cursor };
  }

  /** Waits for an update of the reward model under way (beforeScoring); false when a pause came meanwhile. */
  private async rewardModelReady(): Promise<boolean> {
    if (!this.beforeScoring) return true;
    this.control.onPhase?.({
      name: 'scoring',
      label: 'scoring rollouts: waiting for the reward model to learn the new rankings',
      done: 0,
      total: 1,
    });
    await this.beforeScoring();
    return !this.control.shouldStop();
  }

  private finishIteration(flight: IterationInFlight, update: Record<string, number>): Metrics {
    const s = this.settings;
    const { prompts, responses, perSequence, klCoef } = flight;
    const column = (name: PerSequenceName) => perSequenceColumn(perSequence, name, s.batch_size);
    const [scores, kls, k3s] = [column('score'), column('kl'), column('kl_k3')];
    const samples: PromptResponse[] = prompts.map((prompt, i) => ({ prompt, response: responses.texts[i] }));
    this.lastSamples = samples.map((x, i) => ({ ...x, score: scores[i], klK3: k3s[i], finished: responses.finished[i] }));
    this.klController.update(mean(kls), s.batch_size);
    this.stepsDone += 1;
    return iterationMetrics({
      samples,
      finished: responses.finished,
      column,
      update,
      lr: s.learning_rate,
      episode: this.stepsDone * s.batch_size,
      klCoef,
      seconds: { sample: flight.sampleSeconds, score: flight.scoreSeconds, update: flight.updateSeconds },
      goldScorer: this.goldScorer,
    });
  }

  /**
   * num_ppo_epochs passes over shuffled minibatches, from where the iteration stands; false when
   * shouldStop() stopped it at a minibatch boundary (the next call goes on from there).
   */
  private async update(flight: IterationInFlight): Promise<boolean> {
    const s = this.settings;
    const r = flight.rollouts;
    const perEpoch = Math.ceil(s.batch_size / s.mini_batch_size);
    const usePtx = s.ptx_coef > 0 && this.ptx !== undefined;
    for (; flight.epoch < s.num_ppo_epochs; flight.epoch++, flight.minibatch = 0, flight.order = null) {
      flight.order ??= this.rng.shuffle(Array.from({ length: s.batch_size }, (_, i) => i));
      const order = flight.order;
      for (; flight.minibatch < perEpoch; flight.minibatch++) {
        const done = flight.epoch * perEpoch + flight.minibatch;
        const label = `update epoch ${flight.epoch + 1}/${s.num_ppo_epochs} · minibatch ${flight.minibatch + 1}/${perEpoch}${usePtx ? ' · with ptx' : ''}`;
        if (await this.control.boundary({ name: 'update', label, done, total: s.num_ppo_epochs * perEpoch })) return false;
        const started = performance.now();
        const batch = (flight.batch ??= this.loss.rows(order, flight.minibatch, usePtx));
        if (!this.control.inParts) this.optimizer.accumulate(() => this.loss.whole(r, batch));
        else if (!(await this.loss.accumulateInParts(this.optimizer, r, batch, this.partSizers, this.control.shouldStop))) return false;
        flight.sums.add(this.optimizer.applyAccumulated(s.learning_rate));
        flight.batch = null;
        flight.updateSeconds += (performance.now() - started) / 1000;
      }
    }
    return true;
  }

  /** The minibatch means of UPDATE_METRICS over the finished iteration; ptx/loss on its own when the term is off. */
  private async updateMetrics(flight: IterationInFlight): Promise<Record<string, number>> {
    const out: Record<string, number> = await flight.sums.means();
    if (this.settings.ptx_coef > 0 && this.ptx) return out;
    this.control.onPhase?.({ name: 'ptx', label: 'pretraining loss (ptx, for the chart)', done: 0, total: 1 });
    if (this.ptx) out['ptx/loss'] = await this.ptx.lossOnly(this.policy);
    else delete out['ptx/loss'];
    return out;
  }

  /** The reference (SFT) model's responses to the same prompts, for side-by-side comparison. */
  async sampleReference(prompts: string[], seed = this.settings.seed): Promise<PromptResponse[]> {
    const opts = { temperature: this.settings.temperature, seed, onToken: this.control.breathe };
    return sampleResponses(this.reference, this.tokenizer, prompts, this.shape, opts);
  }

  /** The current policy's responses to some prompts (e.g. held-out ones). */
  async samplePolicy(prompts: string[], seed = this.settings.seed): Promise<PromptResponse[]> {
    const opts = { temperature: this.settings.temperature, seed, onToken: this.control.breathe };
    return sampleResponses(this.policy, this.tokenizer, prompts, this.shape, opts);
  }

  dispose(): void {
    this.inFlight.drop();
    this.optimizer.dispose();
    this.lastGood.dispose();
    this.owned.forEach((m) => m.dispose());
  }
}

/** A value model for when there is no reward model: the policy's trunk with a zero head (TRL's choice). */
function zeroHeadValueModel(policy: GPT): RewardModel {
  return withTensors([tf.zeros([policy.config.nEmbd]), tf.scalar(0)], (w, b) => RewardModel.fromParts(policy.clone(true), w, b));
}
