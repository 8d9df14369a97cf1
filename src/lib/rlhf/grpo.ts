/**
 * GRPO (Shao et al. 2024, DeepSeekMath), one step per step(): the policy samples a group of G completions o_1..o_G for
 * each of prompts_per_step prompts q; each is rewarded, r_i (a reward model, or a program: stages/rewardKinds.ts); then
 *   A_i  = (r_i - mean(r)) / (std(r) + eps)                      over the group, the same for every token of o_i
 *   loss = -mean_t [ min(rho_t A_i, clip(rho_t, 1 - eps_clip, 1 + eps_clip) A_i) ] + beta * mean_t [ D_KL,t ]
 *   rho_t = pi(o_t | q, o_<t) / pi_old(o_t | q, o_<t),   D_KL,t = pi_ref/pi - log(pi_ref/pi) - 1   (k3, always >= 0)
 * the means over every response token of the batch (TRL's token-level loss), num_iterations AdamW steps on each batch.
 * No value model. beta = 0: no reference model is kept and no reference pass is made. Sampling (rollout.ts), the
 * per-token log-probabilities (model/logprobs.ts), the clipped surrogate (losses.ts) and k3 (kl.ts) are PPO-ptx's own.
 */
import * as tf from '@tensorflow/tfjs';
import type { Tokenizer } from '../data/tokenizer';
import type { GPT } from '../model/gpt';
import { logProbsAt } from '../model/logprobs';
import { defaultsOf, float, hidden, int, SEED, type SettingsOf } from '../settings';
import { AdamW, readStep, type LossWithMetrics } from '../train/adamw';
import type { Metrics, Stage } from '../train/loop';
import { accumulateInParts, scaledPart, type PartSizer } from '../train/parts';
import { LastGoodWeights, StepControl, StepInFlight, type Phase, type StepControlOptions } from '../train/pausable';
import { klK3 } from './kl';
import { clippedPolicyLoss, maskedMean } from './losses';
import { mean, responseMetrics, type GrpoMetrics, type PromptResponse } from './metrics';
import type { RewardModel } from './rewardModel';
import { PromptCycle, rolloutShape, type Responses, type RolloutShape } from './rollout';
import { sampleResponses, stepResponses } from './sampling';
import { batchRows, packSequences, sequenceTensors, type SequenceTensors } from './sequences';

/** GRPO's settings: defaults (DeepSeekMath's or TRL's), ranges and explanations, the one source for the form and the code. */
export const GRPO_SETTINGS = [
  int(
    'steps',
    'Steps',
    100,
    1,
    100_000,
    'GRPO steps: each samples a group of completions per prompt, rewards them and updates the policy.',
  ),
  int('prompts_per_step', 'Prompts per step', 4, 1, 256, 'Prompts (groups) sampled per step.'),
  int('group_size', 'Group size (G)', 8, 2, 64, 'Completions per prompt, each compared with its group. TRL: 8; DeepSeekMath: 64.'),
  int(
    'num_iterations',
    'Updates per batch (μ)',
    1,
    1,
    16,
    'AdamW steps on each sampled batch (TRL: 1). Above 1 the ratio leaves 1 and the clip acts.',
  ),
  float('learning_rate', 'Learning rate', 1e-4, 1e-7, 0.01, 'AdamW learning rate for the policy.'),
  float(
    'beta',
    'KL coefficient (β)',
    0.04,
    0,
    10,
    'Weight of the k3 KL to the reference in the loss; 0 keeps no reference model. DeepSeekMath: 0.04; TRL: 0.',
  ),
  float('cliprange', 'Clip range (ε)', 0.2, 0.01, 1, 'Clip of the ratio π/π_old, as PPO’s. DeepSeekMath and TRL: 0.2.'),
  float('temperature', 'Temperature', 1, 0.05, 3, 'Sampling temperature of the completions, also used for their log-probs.'),
  int('response_length', 'Max response tokens', 48, 4, 512, 'Longest completion the policy may write.'),
  SEED,
  hidden(float('weight_decay', 'Weight decay', 0, 0, 1, 'Decoupled AdamW weight decay.')),
  hidden(float('max_grad_norm', 'Gradient clip', 1, 0, 100, 'Clip the global gradient norm (0 = off).')),
] as const;

export type GrpoSettings = SettingsOf<typeof GRPO_SETTINGS>;
export const GRPO_DEFAULTS: GrpoSettings = defaultsOf(GRPO_SETTINGS);

/** eps of A_i's denominator (TRL's); a group's rewards within ZERO_STD of each other count as equal. */
export const ADVANTAGE_EPS = 1e-4;
const ZERO_STD = 1e-6;

export interface GroupAdvantages {
  /** A_i per completion, in the order given (groups of groupSize consecutive completions). */
  advantages: number[];
  /** std(r) of each group (unbiased, as torch.std). */
  groupStd: number[];
  /** The share of groups whose rewards are all equal: their advantages are 0, they teach nothing (frac_reward_zero_std). */
  zeroStdShare: number;
}

/** A_i = (r_i - mean(r)) / (std(r) + eps) within each group of `groupSize` consecutive rewards; 0 in a group of equal rewards. */
export function groupAdvantages(rewards: number[], groupSize: number, eps = ADVANTAGE_EPS): GroupAdvantages {
  if (groupSize < 2 || rewards.length % groupSize !== 0)
    throw new Error(`${rewards.length} rewards do not split into groups of ${groupSize}`);
  const advantages: number[] = [];
  const groupStd: number[] = [];
  for (let from = 0; from < rewards.length; from += groupSize) {
    const group = rewards.slice(from, from + groupSize);
    const m = mean(group);
    const std = Math.sqrt(group.reduce((s, r) => s + (r - m) ** 2, 0) / (groupSize - 1));
    groupStd.push(std);
    advantages.push(...group.map((r) => (std < ZERO_STD ? 0 : (r - m) / (std + eps))));
  }
  return { advantages, groupStd, zeroStdShare: groupStd.filter((s) => s < ZERO_STD).length / groupStd.length };
}

/**
 * The loss above on rows [B, T]: logp (with the gradient), oldLogp and refLogp (data; undefined when beta = 0),
 * advantages [B] (one per completion), mask 1 on response tokens. kl is mean_t D_KL,t; clipRatio the share of tokens
 * whose ratio the clip held (TRL's clip_ratio/region_mean: rho < 1 - eps with A < 0, or rho > 1 + eps with A > 0).
 */
export function grpoLoss(
  logp: tf.Tensor2D,
  oldLogp: tf.Tensor2D,
  refLogp: tf.Tensor2D | undefined,
  advantages: tf.Tensor1D,
  mask: tf.Tensor2D,
  clipRange: number,
  beta: number,
): { loss: tf.Scalar; clipRatio: tf.Scalar; kl?: tf.Scalar } {
  return tf.tidy(() => {
    const perToken = tf.mul(tf.reshape(advantages, [-1, 1]), tf.onesLike(mask)) as tf.Tensor2D;
    const policy = clippedPolicyLoss(logp, oldLogp, perToken, mask, clipRange);
    if (!refLogp) return { loss: policy.loss, clipRatio: policy.clipFrac };
    const k3 = tf.where(tf.greater(mask, 0), klK3(logp, refLogp), tf.zerosLike(logp)); // padding never reaches exp
    const kl = maskedMean(k3, mask) as tf.Scalar;
    return { loss: tf.add(policy.loss, tf.mul(beta, kl)) as tf.Scalar, clipRatio: policy.clipFrac, kl };
  });
}

/** Where a step is: sampling the groups t/T tokens, rewarding them, an update. */
export type GrpoPhase = Phase<'sampling' | 'scoring' | 'update'>;
/** Progress, pause and parts, as PPO's (train/pausable.ts): a pause stops sampling or an update, and the next step() redoes it. */
export type GrpoControl = StepControlOptions<GrpoPhase['name']>;

export interface GrpoStageOptions {
  /** Trained in place (pass sft.clone() to keep the SFT model). */
  policy: GPT;
  tokenizer: Tokenizer;
  /** Formatted prompts, cycled in seeded shuffles. */
  prompts: string[];
  /** The reward source: a reward model (not owned; a RewardStage may keep updating it), or a program of the text. */
  rewardModel?: RewardModel;
  rewardFunction?: (prompt: string, response: string) => number;
  /** Its name in the metric rewards/<name>/mean (TRL's, per reward function; default 'reward'). */
  rewardName?: string;
  /** The frozen reference (default with beta > 0: a frozen clone of the policy as given). Not owned when given. */
  reference?: GPT;
  /** Prompts whose responses evaluate() scores (objective/gold, objective/instruction_following). */
  evalPrompts?: string[];
  /** When a simulated labeler is active: its gold score of prompt + response, reported as objective/gold. */
  goldScorer?: (text: string) => number;
  settings?: Partial<GrpoSettings>;
  control?: GrpoControl;
}

/** A step's groups once sampled and rewarded, kept across a pause until its last update. */
interface GroupsInFlight {
  prompts: string[];
  responses: Responses;
  rewards: number[];
  groups: GroupAdvantages;
  batch: SequenceTensors;
  advantages: tf.Tensor1D;
  oldLogp: tf.Tensor2D;
  refLogp?: tf.Tensor2D;
  iteration: number;
  updates: Metrics[];
  seconds: { sample: number; score: number; update: number };
}

export interface GroupSample {
  prompt: string;
  response: string;
  reward: number;
  advantage: number;
}

export class GrpoStage implements Stage {
  readonly name = 'grpo';
  readonly totalSteps: number;
  stepsDone = 0;
  readonly settings: GrpoSettings;
  readonly shape: RolloutShape;
  readonly policy: GPT;
  /** The frozen reference; null when beta = 0. */
  readonly reference: GPT | null;
  /** The last step's completions, group by group (G each), for the UI's sample stream. */
  lastSamples: GroupSample[] = [];
  private readonly ownsReference: boolean;
  private readonly rewardModel?: RewardModel;
  private readonly rewardFunction?: (prompt: string, response: string) => number;
  private readonly goldScorer?: (text: string) => number;
  private readonly rewardName: string;
  private readonly tokenizer: Tokenizer;
  private readonly prompts: string[];
  private readonly promptTokens: number[][];
  private readonly evalPrompts: string[];
  private readonly cycle: PromptCycle;
  private readonly optimizer: AdamW;
  private readonly control: StepControl<GrpoPhase['name']>;
  private readonly sizers: Record<'prefill' | 'update', PartSizer>;
  private readonly lastGood: LastGoodWeights;
  private readonly inFlight = new StepInFlight<GroupsInFlight>((f) => tf.dispose(this.tensorsOf(f)));
  /** The prompts of a step whose sampling a pause stopped: the next step() samples them again, with the same seed. */
  private picked: number[] | null = null;

  constructor(opts: GrpoStageOptions) {
    if (!opts.rewardModel && !opts.rewardFunction) throw new Error('GRPO needs a reward model or a reward function');
    this.settings = { ...GRPO_DEFAULTS, ...opts.settings };
    const s = this.settings;
    this.control = new StepControl(opts.control);
    this.sizers = { prefill: this.control.sizer(), update: this.control.sizer() };
    this.policy = opts.policy;
    this.tokenizer = opts.tokenizer;
    this.rewardModel = opts.rewardModel;
    this.rewardFunction = opts.rewardFunction;
    this.goldScorer = opts.goldScorer;
    this.rewardName = opts.rewardName ?? 'reward';
    this.ownsReference = !opts.reference && s.beta > 0;
    this.reference = opts.reference ?? (s.beta > 0 ? opts.policy.clone(false) : null);
    this.prompts = opts.prompts;
    this.promptTokens = opts.prompts.map((p) => opts.tokenizer.encode(p));
    this.evalPrompts = opts.evalPrompts ?? [];
    this.shape = rolloutShape(
      this.promptTokens.map((p) => p.length),
      opts.policy.config.blockSize,
      s.response_length,
    );
    this.totalSteps = s.steps;
    this.cycle = new PromptCycle(opts.prompts.length, s.seed);
    this.lastGood = new LastGoodWeights(this.policy.variables());
    this.optimizer = new AdamW(this.policy.variables(), { weightDecay: s.weight_decay, maxGradNorm: s.max_grad_norm });
  }

  async step(): Promise<Metrics> {
    if (!this.inFlight.active && this.picked === null) this.lastGood.keep(this.stepsDone);
    const flight = await this.inFlight.run(
      () => this.sampleGroups(),
      (f) => this.update(f),
    );
    if (!flight) return {}; // paused while sampling or before an update: the next step() resumes there
    tf.dispose(this.tensorsOf(flight));
    this.stepsDone += 1;
    return this.stepMetrics(flight);
  }

  /** After a step whose metrics are not finite: the weights from its start and its number (0: GRPO's start). */
  restoreLastGood(): number {
    this.inFlight.drop();
    this.stepsDone = this.lastGood.restore() ?? this.stepsDone;
    return this.stepsDone;
  }

  /** G completions to each of this step's prompts, their rewards and advantages, and the log-probs the loss needs. */
  private async sampleGroups(): Promise<GroupsInFlight | null> {
    const s = this.settings;
    const picked = (this.picked ??= this.cycle.take(s.prompts_per_step));
    const rows = picked.flatMap((i) => Array<number>(s.group_size).fill(i));
    let started = performance.now();
    const label = `sampling ${picked.length} groups of ${s.group_size}`;
    const responses = await stepResponses(
      this.policy,
      this.tokenizer,
      rows.map((i) => this.promptTokens[i]),
      this.shape,
      { ...s, step: this.stepsDone, control: this.control, prefill: this.sizers.prefill, label },
    );
    if (!responses) return null;
    this.picked = null;
    const sample = (performance.now() - started) / 1000;
    started = performance.now();
    this.control.onPhase?.({ name: 'scoring', label: 'rewarding the completions', done: 0, total: 1 });
    const prompts = rows.map((i) => this.prompts[i]);
    const batch = sequenceTensors(packSequences(responses.pairs, this.shape.time, this.tokenizer.eosId, rows.length, this.shape.time - 1));
    const { oldLogp, refLogp, modelScores } = this.forwards(batch);
    const rewards = this.rewardFunction
      ? prompts.map((p, i) => this.rewardFunction!(p, responses.texts[i]))
      : Array.from(await modelScores!.data());
    modelScores?.dispose();
    const groups = groupAdvantages(rewards, s.group_size);
    const advantages = tf.tensor1d(groups.advantages);
    const seconds = { sample, score: (performance.now() - started) / 1000, update: 0 };
    return { prompts, responses, rewards, groups, batch, advantages, oldLogp, refLogp, iteration: 0, updates: [], seconds };
  }

  /** log pi_old and log pi_ref of the sampled tokens (at the sampling temperature), and the reward model's scores. */
  private forwards(batch: SequenceTensors): { oldLogp: tf.Tensor2D; refLogp?: tf.Tensor2D; modelScores?: tf.Tensor1D } {
    const t = this.settings.temperature;
    return tf.tidy(() => ({
      oldLogp: logProbsAt(this.policy.logits(batch.ids), batch.targets, t),
      refLogp: this.reference ? logProbsAt(this.reference.logits(batch.ids), batch.targets, t) : undefined,
      modelScores: this.rewardFunction ? undefined : this.rewardModel!.scores(batch.ids, batch.lastIndex),
    }));
  }

  /** num_iterations AdamW steps on the step's groups, from where it stands; false when a pause stopped it. */
  private async update(f: GroupsInFlight): Promise<boolean> {
    const s = this.settings;
    for (; f.iteration < s.num_iterations; f.iteration++) {
      const label = `update ${f.iteration + 1}/${s.num_iterations} · ${f.prompts.length} completions`;
      if (await this.control.boundary({ name: 'update', label, done: f.iteration, total: s.num_iterations })) return false;
      const started = performance.now();
      const rows = f.prompts.length;
      if (!this.control.inParts) this.optimizer.accumulate(() => this.rowsLoss(f, 0, rows));
      else {
        // a part's token means count by its share of the batch's response tokens
        const tokens = (from: number, to: number) => sum(this.lengths(f).slice(from, to));
        const part = (from: number, to: number) => scaledPart(this.rowsLoss(f, from, to), tokens(from, to) / Math.max(tokens(0, rows), 1));
        if (!(await accumulateInParts(this.optimizer, rows, this.sizers.update, part, this.control.shouldStop))) return false;
      }
      f.updates.push(await readStep(this.optimizer.applyAccumulated(s.learning_rate)));
      f.seconds.update += (performance.now() - started) / 1000;
    }
    return true;
  }

  /** grpoLoss on rows [from, to) of the step's batch, and its figures. */
  private rowsLoss(f: GroupsInFlight, from: number, to: number): LossWithMetrics {
    const s = this.settings;
    const whole = from === 0 && to === f.prompts.length;
    const part = whole ? f.batch : batchRows(f.batch, from, to);
    const slice2 = (x: tf.Tensor2D) => (whole ? x : (tf.slice(x, [from, 0], [to - from, x.shape[1]]) as tf.Tensor2D));
    const logp = logProbsAt(this.policy.logits(part.ids), part.targets, s.temperature);
    const refLogp = f.refLogp && slice2(f.refLogp);
    const advantages = whole ? f.advantages : (tf.slice(f.advantages, [from], [to - from]) as tf.Tensor1D);
    const { loss, clipRatio, kl } = grpoLoss(logp, slice2(f.oldLogp), refLogp, advantages, part.targetMask, s.cliprange, s.beta);
    return { loss, metrics: { 'clip_ratio/region_mean': clipRatio, ...(kl ? { kl } : {}) } };
  }

  /** TRL's GRPO figures of the step (metrics.ts GRPO_METRIC_NAMES), and what the completions honour. */
  private stepMetrics(f: GroupsInFlight): GrpoMetrics & Metrics {
    const s = this.settings;
    const samples: PromptResponse[] = f.prompts.map((prompt, i) => ({ prompt, response: f.responses.texts[i] }));
    this.lastSamples = samples.map((x, i) => ({ ...x, reward: f.rewards[i], advantage: f.groups.advantages[i] }));
    const lengths = this.lengths(f);
    const update = (name: string) => mean(f.updates.map((u) => u[name]));
    return {
      loss: update('loss'),
      grad_norm: update('grad_norm'),
      reward: mean(f.rewards),
      [`rewards/${this.rewardName}/mean`]: mean(f.rewards),
      reward_std: mean(f.groups.groupStd),
      frac_reward_zero_std: f.groups.zeroStdShare,
      ...(this.reference ? { kl: update('kl') } : {}),
      'clip_ratio/region_mean': update('clip_ratio/region_mean'),
      'completions/mean_length': mean(lengths),
      'completions/clipped_ratio': f.responses.finished.filter((x) => !x).length / f.responses.finished.length,
      learning_rate: s.learning_rate,
      'time/sample_s': f.seconds.sample,
      'time/score_s': f.seconds.score,
      'time/update_s': f.seconds.update,
      ...responseMetrics(samples, this.goldScorer),
    };
  }

  /** Response tokens of each completion (with its EOS where it ended). */
  private lengths(f: GroupsInFlight): number[] {
    return f.responses.pairs.map((p) => Math.min(p.response.length, this.shape.responseTokens));
  }

  private tensorsOf(f: GroupsInFlight): tf.Tensor[] {
    return [...Object.values(f.batch), f.advantages, f.oldLogp, ...(f.refLogp ? [f.refLogp] : [])];
  }

  /** One response per eval prompt (the same seed each time): objective/gold (with a gold scorer), objective/instruction_following. */
  async evaluate(): Promise<Metrics> {
    return this.evalPrompts.length ? responseMetrics(await this.samplePolicy(this.evalPrompts), this.goldScorer) : {};
  }

  /** The current policy's responses to some prompts (ranking tasks, held-out checks). */
  async samplePolicy(prompts: string[], seed = this.settings.seed): Promise<PromptResponse[]> {
    const opts = { temperature: this.settings.temperature, seed, onToken: this.control.breathe };
    return sampleResponses(this.policy, this.tokenizer, prompts, this.shape, opts);
  }

  dispose(): void {
    this.inFlight.drop();
    this.optimizer.dispose();
    this.lastGood.dispose();
    if (this.ownsReference) this.reference?.dispose();
  }
}

function sum(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0);
}
