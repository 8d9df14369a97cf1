/**
 * Stage 3, PPO-ptx (InstructGPT Eq. 2), one iteration per step():
 *   objective(phi) = E_{(x,y) ~ pi_RL} [ r_theta(x, y) - beta * log(pi_RL(y|x) / pi_SFT(y|x)) ] + gamma * E_{x ~ D_pretrain} [ log pi_RL(x) ]
 * Rollouts are scored once (rollout.ts); then num_ppo_epochs passes over shuffled minibatches minimise
 *   loss = clipped policy loss + vf_coef * clipped value loss + ptx_coef * LM loss on pretraining text
 * in one AdamW step over the policy and the value model together. ptx_coef = 0 gives plain PPO.
 */
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt';
import { lmLoss, logProbsAt } from '../model/logprobs';
import { sampleLmBatch } from '../data/batches';
import { summariseFollowing } from '../data/instructionFollowing';
import { Rng } from '../data/rng';
import type { Tokenizer } from '../data/tokenizer';
import { AdamW, type LossWithMetrics } from '../train/adamw';
import { SamplingStopped, stoppable } from '../model/sampler';
import { breather } from '../train/breather';
import { accumulateInParts, PartSizer, yieldToEventLoop, type PartControl } from '../train/parts';
import type { Metrics, Stage } from '../train/loop';
import { AdaptiveKlController, FixedKlController, type KlController } from './kl';
import { clippedPolicyLoss, clippedValueLoss, maskedMean } from './losses';
import type { PpoMetrics } from './metrics';
import { choice, defaultsOf, flag, float, hidden, int, SEED, type SettingsOf } from '../settings';
import { RewardModel, withTensors } from './rewardModel';
import {
  disposeRollouts,
  PER_SEQUENCE_ROWS,
  PromptCycle,
  rolloutShape,
  scoreRollouts,
  writeResponses,
  type Responses,
  type RolloutShape,
  type ScoredRollouts,
} from './rollout';

/** PPO-ptx's settings: defaults (the paper's or TRL's), ranges and explanations, the one source for the form and the code. */
export const PPO_SETTINGS = [
  int('iterations', 'Iterations', 200, 1, 100_000, 'PPO iterations: each samples a batch of rollouts, scores them and updates the policy.'),
  int('batch_size', 'Rollouts per batch', 16, 2, 512, 'Prompts (episodes) per iteration. The paper: 512.'),
  int('mini_batch_size', 'Minibatch', 8, 1, 512, 'Rollouts per gradient step within an iteration.'),
  int('num_ppo_epochs', 'PPO epochs', 4, 1, 32, 'Passes over each rollout batch (TRL default 4).'),
  // the highest that keeps the language (scripts/lr-ceiling.ts, tiny fixture, 12 iterations): ptx loss 0.68 at 1e-4,
  // 0.71-0.73 at 1e-3, 0.85-0.99 at 3e-3, 1.4-2.7 at 0.01 and 4.9-8.0 at 0.05 (garbage)
  float('learning_rate', 'Learning rate', 1e-4, 1e-7, 1e-3, 'AdamW learning rate for policy and value model.'),
  float(
    'kl_coef',
    'KL coefficient (beta)',
    0.05,
    0,
    10,
    'Weight of the per-token KL penalty against the SFT model. The paper: 0.02; TRL: 0.05.',
  ),
  flag('adaptive_kl', 'Adaptive KL', false, 'Adjust beta to hold the KL near a target (Ziegler et al.).'),
  float('kl_target', 'KL target', 6, 0.01, 100, 'Adaptive KL: the KL (nats per sequence) to aim for.'),
  int('kl_horizon', 'KL horizon', 10_000, 1, 1_000_000, 'Adaptive KL: how slowly beta moves (in episodes).'),
  choice(
    'kl_estimator',
    'KL estimator',
    'k1',
    ['k1', 'k3'],
    'k1 = log p - log p_ref (unbiased, can be negative); k3 = (r - 1) - log r (always >= 0).',
  ),
  float('cliprange', 'Clip range', 0.2, 0.01, 1, 'PPO policy ratio clip epsilon. The paper: 0.2.'),
  float('cliprange_value', 'Value clip range', 0.2, 0.01, 10, 'Clip on the value update.'),
  float('vf_coef', 'Value loss coef', 0.1, 0, 10, 'Weight of the value loss.'),
  float('gamma', 'GAE gamma', 1, 0, 1, 'Discount for GAE (1: the episode is one response).'),
  float('lam', 'GAE lambda', 0.95, 0, 1, 'GAE lambda.'),
  float(
    'ptx_coef',
    'ptx coefficient (gamma)',
    1,
    0,
    100,
    'Weight of the pretraining log-likelihood (PPO-ptx, Eq. 2); 0 = plain PPO. The paper: 27.8 with its loss scaling.',
  ),
  float('temperature', 'Temperature', 1, 0.05, 3, 'Sampling temperature for rollouts, also used for log-probs. The paper: 1.'),
  int('response_length', 'Max response tokens', 48, 4, 512, 'Longest response a rollout may write.'),
  float('missing_eos_penalty', 'Missing-EOS penalty', 1, 0, 100, 'Subtracted from the score of a response that never ends.'),
  float('max_grad_norm', 'Gradient clip', 1, 0, 100, 'Clip the global gradient norm.'),
  flag('whiten_rewards', 'Whiten rewards', false, 'Normalise rewards over the batch before GAE.'),
  SEED,
  hidden(float('weight_decay', 'Weight decay', 0, 0, 1, 'Decoupled AdamW weight decay.')),
] as const;

export type PpoSettings = SettingsOf<typeof PPO_SETTINGS>;
export const PPO_DEFAULTS: PpoSettings = defaultsOf(PPO_SETTINGS);

/** The one rule between two PPO settings; null when they fit. */
export function minibatchError(s: Pick<PpoSettings, 'mini_batch_size' | 'batch_size'>): string | null {
  return s.mini_batch_size > s.batch_size
    ? `Minibatch (${s.mini_batch_size}) must not be larger than the rollouts per batch (${s.batch_size}).`
    : null;
}

/** Where an iteration is: sampling t/T tokens, scoring, an update minibatch, the ptx-only loss. */
export interface PpoPhase {
  name: 'sampling' | 'scoring' | 'update' | 'ptx';
  label: string;
  done: number;
  total: number;
}

/**
 * Optional progress and pause control. With it, an iteration reports its phases and yields to the event
 * loop at each minibatch boundary and every BREATHE_MS while sampling; when shouldStop() is true there,
 * step() returns early with no metrics and stepsDone unchanged, and the next step() resumes the same
 * iteration (a stopped sampling starts again on the same prompts and seed; after it, the same rollouts,
 * epoch and minibatch), so a paused run follows exactly the updates of an unpaused one and the counter
 * stays true. With partMs, scoring and each minibatch (rollout rows, then ptx windows) run in parts of about that
 * long, yielding between them; a pause there redoes the scoring or the minibatch whole on resume.
 */
export interface PpoControl extends PartControl {
  onPhase?(phase: PpoPhase): void;
}

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
  sums: tf.Tensor1D | null;
  /** The minibatch under way: kept across a pause inside it, so that it is redone on the same rows and ptx text. */
  batch: MinibatchRows | null;
}

/** One minibatch's rollout rows (a short last one is filled with repeated rows that count 0) and ptx windows. */
interface MinibatchRows {
  rows: number[];
  counts: number[];
  ptx: { x: Int32Array; y: Int32Array } | null;
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
  settings?: Partial<PpoSettings>;
  control?: PpoControl;
}

export interface RolloutSample {
  prompt: string;
  response: string;
  score: number;
  kl: number;
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
  private readonly tokenizer: Tokenizer;
  private readonly prompts: string[];
  private readonly promptTokens: number[][];
  private readonly pretrainTokens?: Int32Array;
  private readonly cycle: PromptCycle;
  private readonly klController: KlController;
  private readonly optimizer: AdamW;
  private readonly rng: Rng;
  private readonly ptxRng: Rng;
  private readonly owned: { dispose(): void }[] = [];
  private readonly control?: PpoControl;
  private inFlight: IterationInFlight | null = null;
  /** With a control (the app), sampling lets the worker answer messages every BREATHE_MS; scripts never wait on timers. */
  private readonly breathe: () => Promise<void>;
  /** The prompts of an iteration whose sampling a pause stopped: the next step() samples them again. */
  private picked: number[] | null = null;
  /** Its responses, once sampled, when a pause stopped the scoring: the next step() scores them again. */
  private sampled: { responses: Responses; seconds: number } | null = null;
  /** Size the parts of a minibatch (PpoControl.partMs), by kind: a ptx window costs about half a rollout row. */
  private readonly partSizers: Record<'rollout' | 'ptx' | 'scoring' | 'prefill', PartSizer>;
  /** What the optimizer trains: the policy's variables, then the value model's. */
  private readonly trained: tf.Variable[];
  /** Those variables' values when the iteration under way began, i.e. at the end of the last one: see restoreLastGood. */
  private lastGood: { iteration: number; weights: tf.Tensor[] } | null = null;

  constructor(opts: PpoStageOptions) {
    this.control = opts.control;
    this.breathe = opts.control ? breather() : async () => {};
    const partMs = opts.control?.partMs ?? 0;
    const sizer = () => new PartSizer(partMs);
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
    this.reference = opts.reference ?? this.own(opts.policy.clone(false));
    this.valueModel = opts.valueModel ?? this.own(opts.rewardModel?.clone() ?? zeroHeadValueModel(opts.policy));
    this.prompts = opts.prompts;
    this.promptTokens = opts.prompts.map((p) => opts.tokenizer.encode(p));
    this.shape = rolloutShape(
      this.promptTokens.map((p) => p.length),
      opts.policy.config.blockSize,
      s.response_length,
    );
    this.pretrainTokens = opts.pretrainTokens;
    this.totalSteps = s.iterations;
    this.cycle = new PromptCycle(opts.prompts.length, s.seed);
    this.rng = new Rng(s.seed + 1);
    this.ptxRng = new Rng(s.seed + 2);
    this.klController = s.adaptive_kl ? new AdaptiveKlController(s.kl_coef, s.kl_target, s.kl_horizon) : new FixedKlController(s.kl_coef);
    this.trained = [...this.policy.variables(), ...this.valueModel.variables()];
    this.optimizer = new AdamW(this.trained, {
      weightDecay: s.weight_decay,
      maxGradNorm: s.max_grad_norm,
    });
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
    if (!this.inFlight && this.picked === null) this.keepLastGood(); // a fresh iteration, not one resumed after a pause
    if (!this.inFlight) {
      const rolledOut = await this.rollOut();
      if (!rolledOut) return {}; // paused while sampling: the next step() samples the same prompts with the same seed
      this.inFlight = rolledOut;
    }
    const flight = this.inFlight;
    let finished: boolean;
    try {
      finished = await this.update(flight);
    } catch (err) {
      this.dropInFlight();
      throw err;
    }
    if (!finished) return {}; // paused at a minibatch boundary: resumed by the next step()
    this.inFlight = null;
    disposeRollouts(flight.rollouts);
    const update = await this.updateMetrics(flight);
    return this.finishIteration(flight, update);
  }

  /** Keeps the trained weights as they are now (a device copy, or a shared buffer where the backend shares). */
  private keepLastGood(): void {
    if (this.lastGood) tf.dispose(this.lastGood.weights);
    this.lastGood = { iteration: this.stepsDone, weights: this.trained.map((v) => tf.clone(v)) };
  }

  /**
   * After an iteration whose metrics are not finite: its updates (AdamW refuses only the non-finite ones) are undone,
   * the policy and value model get back their weights from its start, the end of the last iteration, and the count
   * goes back to that iteration, which it returns (0: the weights PPO began with).
   */
  restoreLastGood(): number {
    this.dropInFlight();
    const kept = this.lastGood;
    if (!kept) return this.stepsDone;
    this.trained.forEach((v, i) => v.assign(kept.weights[i]));
    this.stepsDone = kept.iteration;
    return kept.iteration;
  }

  /** With PpoControl.partMs: the sampler reads the prompts in parts of rows. */
  private prefillParts(): PartSizer | undefined {
    return this.control?.partMs === undefined ? undefined : this.partSizers.prefill;
  }

  /** The responses to this iteration's prompts; null when a pause stopped the sampling. */
  private async sampleRollouts(picked: number[]): Promise<{ responses: Responses; seconds: number } | null> {
    const s = this.settings;
    const started = performance.now();
    const onPhase = this.control?.onPhase;
    const responses = await stoppable(
      writeResponses(
        this.policy,
        this.tokenizer,
        picked.map((i) => this.promptTokens[i]),
        this.shape,
        {
          temperature: s.temperature,
          seed: mixSeed(s.seed, this.stepsDone),
          prefillParts: this.prefillParts(),
          onToken:
            onPhase &&
            (async (done, total) => {
              onPhase({ name: 'sampling', label: `sampling rollouts ${done}/${total}`, done, total });
              await this.breathe();
              if (this.control?.shouldStop?.()) throw new SamplingStopped();
            }),
        },
      ),
    );
    return responses && { responses, seconds: (performance.now() - started) / 1000 };
  }

  /** Samples this iteration's responses and scores them (reward, KL, values, advantages). */
  private async rollOut(): Promise<IterationInFlight | null> {
    const s = this.settings;
    const picked = (this.picked ??= this.cycle.take(s.batch_size));
    const prompts = picked.map((i) => this.prompts[i]);

    const onPhase = this.control?.onPhase;
    const sampled = (this.sampled ??= await this.sampleRollouts(picked));
    if (!sampled) return null;
    const { responses, seconds: sampleSeconds } = sampled;

    onPhase?.({ name: 'scoring', label: 'scoring rollouts', done: 0, total: 1 });
    const started = performance.now();
    const klCoef = this.klController.value;
    const rewardScores = this.rewardFunction ? prompts.map((p, i) => this.rewardFunction!(p, responses.texts[i])) : undefined;
    const models = { policy: this.policy, reference: this.reference, valueModel: this.valueModel, rewardModel: this.rewardModel };
    const parts =
      this.control?.partMs === undefined
        ? undefined
        : { sizer: this.partSizers.scoring, stop: () => this.control?.shouldStop?.() ?? false };
    const rollouts = await scoreRollouts(models, responses, this.shape.time, this.tokenizer.eosId, { ...s, klCoef }, rewardScores, parts);
    if (!rollouts) return null; // paused while scoring: the next step() scores the same responses again
    this.picked = null;
    this.sampled = null;
    const perSequence = await rollouts.perSequence.data();
    const scoreSeconds = (performance.now() - started) / 1000;
    return {
      prompts,
      responses,
      rollouts,
      perSequence,
      klCoef,
      sampleSeconds,
      scoreSeconds,
      updateSeconds: 0,
      epoch: 0,
      minibatch: 0,
      order: null,
      sums: null,
      batch: null,
    };
  }

  private finishIteration(flight: IterationInFlight, update: Record<string, number>): Metrics {
    const s = this.settings;
    const { prompts, responses, perSequence, klCoef } = flight;
    const column = (name: (typeof PER_SEQUENCE_ROWS)[number]) => rowOf(perSequence, PER_SEQUENCE_ROWS.indexOf(name), s.batch_size);
    const scores = column('score');
    const kls = column('kl');
    this.lastSamples = prompts.map((prompt, i) => ({
      prompt,
      response: responses.texts[i],
      score: scores[i],
      kl: kls[i],
      finished: responses.finished[i],
    }));
    const klMean = mean(kls);
    this.klController.update(klMean, s.batch_size);
    this.stepsDone += 1;

    const metrics: PpoMetrics & Metrics = {
      'objective/kl': klMean,
      'objective/entropy': mean(column('neg_logp')),
      'objective/non_score_reward': mean(column('non_score_reward')),
      'objective/rlhf_reward': mean(scores) + mean(column('non_score_reward')),
      'objective/scores': mean(scores),
      // the per-token entropy of the policy that wrote the rollouts (computed once, when scoring)
      'policy/entropy_avg': sum(column('entropy')) / Math.max(sum(column('tokens')), 1),
      ...update,
      'val/num_eos_tokens': responses.finished.filter(Boolean).length,
      lr: s.learning_rate,
      episode: this.stepsDone * s.batch_size,
      'objective/kl_coef': klCoef,
      'time/sample_s': flight.sampleSeconds,
      'time/score_s': flight.scoreSeconds,
      'time/update_s': flight.updateSeconds,
    };
    if (this.goldScorer) metrics['objective/gold'] = mean(prompts.map((p, i) => this.goldScorer!(p + responses.texts[i])));
    // the share of the named constraints of the rollouts' instructions that their responses honour, as written (cut at
    // response_length, so a long story's ending may not be there yet); absent when no instruction names anything
    const following = summariseFollowing(prompts.map((prompt, i) => ({ prompt, response: responses.texts[i] })));
    if (following.total > 0) metrics['objective/instruction_following'] = following.share;
    return metrics;
  }

  /**
   * num_ppo_epochs passes over shuffled minibatches, from where the iteration stands; false when
   * shouldStop() stopped it at a minibatch boundary (the next call goes on from there).
   */
  private async update(flight: IterationInFlight): Promise<boolean> {
    const s = this.settings;
    const r = flight.rollouts;
    const perEpoch = Math.ceil(s.batch_size / s.mini_batch_size);
    const usePtx = s.ptx_coef > 0 && this.pretrainTokens !== undefined;
    for (; flight.epoch < s.num_ppo_epochs; flight.epoch++, flight.minibatch = 0, flight.order = null) {
      flight.order ??= this.rng.shuffle(Array.from({ length: s.batch_size }, (_, i) => i));
      const order = flight.order;
      for (; flight.minibatch < perEpoch; flight.minibatch++) {
        if (this.control && (await this.boundary(flight, perEpoch, usePtx))) return false;
        const started = performance.now();
        const batch = (flight.batch ??= this.minibatchRows(order, flight.minibatch, usePtx));
        if (this.control?.partMs === undefined) this.optimizer.accumulate(() => this.minibatchLoss(r, batch));
        else if (!(await this.accumulateInParts(r, batch))) return false;
        const result = this.optimizer.applyAccumulated(s.learning_rate);
        flight.batch = null;
        const values = tf.tidy(() => tf.stack(UPDATE_METRICS.map((k) => result.metrics[k] ?? tf.scalar(0))) as tf.Tensor1D);
        tf.dispose([result.loss, result.gradNorm, ...Object.values(result.metrics)]);
        const next: tf.Tensor1D = flight.sums ? tf.add(flight.sums, values) : values;
        if (flight.sums) tf.dispose([flight.sums, values]);
        flight.sums = next;
        flight.updateSeconds += (performance.now() - started) / 1000;
      }
    }
    return true;
  }

  /** Reports the minibatch about to run, lets messages through, and says whether to stop here. */
  private async boundary(flight: IterationInFlight, perEpoch: number, usePtx: boolean): Promise<boolean> {
    const s = this.settings;
    const done = flight.epoch * perEpoch + flight.minibatch;
    const label = `update epoch ${flight.epoch + 1}/${s.num_ppo_epochs} · minibatch ${flight.minibatch + 1}/${perEpoch}${usePtx ? ' · with ptx' : ''}`;
    this.control?.onPhase?.({ name: 'update', label, done, total: s.num_ppo_epochs * perEpoch });
    await new Promise((resolve) => setTimeout(resolve, 0));
    return this.control?.shouldStop?.() ?? false;
  }

  /** The minibatch means of UPDATE_METRICS over the finished iteration. */
  private async updateMetrics(flight: IterationInFlight): Promise<Record<string, number>> {
    const s = this.settings;
    const perEpoch = Math.ceil(s.batch_size / s.mini_batch_size);
    const usePtx = s.ptx_coef > 0 && this.pretrainTokens !== undefined;
    const averaged = await flight.sums!.data();
    flight.sums!.dispose();
    const out: Record<string, number> = Object.fromEntries(UPDATE_METRICS.map((k, i) => [k, averaged[i] / (s.num_ppo_epochs * perEpoch)]));
    if (!usePtx) {
      this.control?.onPhase?.({ name: 'ptx', label: 'pretraining loss (ptx, for the chart)', done: 0, total: 1 });
      if (this.pretrainTokens) out['ptx/loss'] = await this.ptxLossOnly();
      else delete out['ptx/loss'];
    }
    return out;
  }

  private dropInFlight(): void {
    if (!this.inFlight) return;
    disposeRollouts(this.inFlight.rollouts);
    this.inFlight.sums?.dispose();
    this.inFlight = null;
  }

  /** Minibatch `m` of the epoch's shuffled order, and its ptx windows (drawn here, once per minibatch). */
  private minibatchRows(order: number[], m: number, usePtx: boolean): MinibatchRows {
    const { batch_size: size, mini_batch_size: mini } = this.settings;
    const rows = Array.from({ length: mini }, (_, i) => order[(m * mini + i) % size]);
    const counts = rows.map((_, i) => (m * mini + i < size ? 1 : 0));
    return { rows, counts, ptx: usePtx ? this.ptxWindows() : null };
  }

  /** loss = pg_loss + vf_coef * vf_loss + ptx_coef * ptx_loss for a whole minibatch. */
  private minibatchLoss(r: ScoredRollouts, batch: MinibatchRows): LossWithMetrics {
    const { loss, metrics } = this.rolloutLoss(r, batch.rows, batch.counts);
    if (!batch.ptx) return { loss, metrics };
    const ptxLoss = this.ptxLoss(batch.ptx, 0, batch.rows.length);
    return { loss: tf.add(loss, tf.mul(this.settings.ptx_coef, ptxLoss)) as tf.Scalar, metrics: { ...metrics, 'ptx/loss': ptxLoss } };
  }

  /**
   * pg_loss + vf_coef * vf_loss on rollout rows `rows` (each counting `counts`, 0 or 1), and the mask of their
   * response tokens. Log-probs at the sampling temperature, as when the rollouts were scored.
   */
  private rolloutLoss(r: ScoredRollouts, rows: number[], counts: number[]): LossWithMetrics & { mask: tf.Tensor2D } {
    const s = this.settings;
    const index = tf.tensor1d(rows, 'int32');
    const take = <T extends tf.Tensor>(x: T) => tf.gather(x, index) as T; // data rows only: no gradient through gather
    const mask = responseMask(r, index, counts);
    const ids = take(r.batch.ids);
    const logp = logProbsAt(this.policy.logits(ids), take(r.batch.targets), s.temperature);
    const oldLogp = take(r.oldLogp);
    const policy = clippedPolicyLoss(logp, oldLogp, take(r.advantages), mask, s.cliprange);
    const value = clippedValueLoss(this.valueModel.values(ids), take(r.oldValues), take(r.returns), mask, s.cliprange_value);
    const loss = tf.add(policy.loss, tf.mul(s.vf_coef, value.loss)) as tf.Scalar;
    const metrics: Record<string, tf.Scalar> = {
      'loss/policy_avg': policy.loss,
      'loss/value_avg': value.loss,
      'policy/approxkl_avg': policy.approxKl,
      'policy/clipfrac_avg': policy.clipFrac,
      'val/clipfrac_avg': value.clipFrac,
      'val/ratio': maskedMean(tf.exp(tf.sub(logp, oldLogp)), mask) as tf.Scalar,
    };
    return { loss, metrics, mask };
  }

  /** Eq. 2's gamma * E_pretrain[log pi(x)] as a loss, -mean log pi(x), on ptx windows [from, to) of the minibatch. */
  private ptxLoss(ptx: { x: Int32Array; y: Int32Array }, from: number, to: number): tf.Scalar {
    const { time } = this.shape;
    const x = tf.tensor2d(ptx.x.subarray(from * time, to * time), [to - from, time], 'int32');
    const y = tf.tensor2d(ptx.y.subarray(from * time, to * time), [to - from, time], 'int32');
    return lmLoss(this.policy, x, y);
  }

  /**
   * The minibatch's gradient summed over parts (train/parts.ts), rollout rows then ptx windows. A part's masked means
   * are scaled by its share of the minibatch's response tokens, a ptx part's mean by its share of the windows. False
   * when a pause cut it short.
   */
  private async accumulateInParts(r: ScoredRollouts, batch: MinibatchRows): Promise<boolean> {
    const rows = batch.rows.length;
    const stop = () => this.control?.shouldStop?.() ?? false;
    const tokens = tf.tidy(() => tf.sum(responseMask(r, tf.tensor1d(batch.rows, 'int32'), batch.counts)));
    const scaled = (part: LossWithMetrics, share: tf.Scalar | number): LossWithMetrics => ({
      loss: tf.mul(part.loss, share) as tf.Scalar,
      metrics: Object.fromEntries(Object.entries(part.metrics ?? {}).map(([k, v]) => [k, tf.mul(v, share) as tf.Scalar])),
    });
    try {
      const rollouts = await accumulateInParts(
        this.optimizer,
        rows,
        this.partSizers.rollout,
        (from, to) => {
          const part = this.rolloutLoss(r, batch.rows.slice(from, to), batch.counts.slice(from, to));
          return scaled(part, tf.div(tf.sum(part.mask), tf.maximum(tokens, 1e-8)) as tf.Scalar);
        },
        stop,
      );
      if (!rollouts || !batch.ptx) return rollouts;
      await yieldToEventLoop();
      if (stop()) {
        this.optimizer.discardAccumulated();
        return false;
      }
      return await accumulateInParts(
        this.optimizer,
        rows,
        this.partSizers.ptx,
        (from, to) => {
          const ptxLoss = this.ptxLoss(batch.ptx!, from, to);
          return scaled(
            { loss: tf.mul(this.settings.ptx_coef, ptxLoss) as tf.Scalar, metrics: { 'ptx/loss': ptxLoss } },
            (to - from) / rows,
          );
        },
        stop,
      );
    } finally {
      tokens.dispose();
    }
  }

  /** mini_batch_size windows of pretraining text, as long as the rollout rows. */
  private ptxWindows(): { x: Int32Array; y: Int32Array } {
    return sampleLmBatch(this.pretrainTokens!, this.settings.mini_batch_size, this.shape.time, this.ptxRng);
  }

  /** With ptx off: the LM loss on one pretraining batch, for the chart only (no gradient). */
  private async ptxLossOnly(): Promise<number> {
    const loss = tf.tidy(() => this.ptxLoss(this.ptxWindows(), 0, this.settings.mini_batch_size));
    const value = (await loss.data())[0];
    loss.dispose();
    return value;
  }

  /** The reference (SFT) model's responses to the same prompts, for side-by-side comparison. */
  async sampleReference(prompts: string[], seed = this.settings.seed): Promise<{ prompt: string; response: string }[]> {
    return sampleResponses(this.reference, this.tokenizer, prompts, this.shape, {
      temperature: this.settings.temperature,
      seed,
      onToken: this.breathe,
    });
  }

  /** The current policy's responses to some prompts (e.g. held-out ones). */
  async samplePolicy(prompts: string[], seed = this.settings.seed): Promise<{ prompt: string; response: string }[]> {
    return sampleResponses(this.policy, this.tokenizer, prompts, this.shape, {
      temperature: this.settings.temperature,
      seed,
      onToken: this.breathe,
    });
  }

  dispose(): void {
    this.dropInFlight();
    this.optimizer.dispose();
    if (this.lastGood) tf.dispose(this.lastGood.weights);
    this.owned.forEach((m) => m.dispose());
  }
}

/** 1 at the response tokens of rollout rows `index`, times each row's count (0 for a repeated filler row). */
function responseMask(r: ScoredRollouts, index: tf.Tensor1D, counts: number[]): tf.Tensor2D {
  return tf.mul(tf.gather(r.batch.targetMask, index), tf.reshape(tf.tensor1d(counts), [-1, 1])) as tf.Tensor2D;
}

/** A value model for when there is no reward model: the policy's trunk with a zero head (TRL's choice). */
function zeroHeadValueModel(policy: GPT): RewardModel {
  return withTensors([tf.zeros([policy.config.nEmbd]), tf.scalar(0)], (w, b) => RewardModel.fromParts(policy.clone(true), w, b));
}

async function sampleResponses(
  model: GPT,
  tokenizer: Tokenizer,
  prompts: string[],
  shape: RolloutShape,
  opts: Parameters<typeof writeResponses>[4],
) {
  const responses = await writeResponses(
    model,
    tokenizer,
    prompts.map((p) => tokenizer.encode(p)),
    shape,
    opts,
  );
  return prompts.map((prompt, i) => ({ prompt, response: responses.texts[i] }));
}

function mixSeed(seed: number, iteration: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(iteration + 1, 0x85ebca6b)) >>> 0;
}

/** Row `row` of a row-major matrix with `width` columns. */
function rowOf(matrix: Float32Array | Int32Array | Uint8Array, row: number, width: number): number[] {
  return Array.from(matrix.subarray(row * width, (row + 1) * width));
}

function sum(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0);
}

function mean(xs: number[]): number {
  return sum(xs) / Math.max(xs.length, 1);
}
