/**
 * Best-of-n sampling, a baseline that trains nothing: for each prompt x the SFT model writes n completions y_1..y_n and
 * the one the reward scores highest is kept,
 *   y* = argmax_i r(x, y_i),   y_i ~ pi_sft(. | x)
 * for n = 1, 2, 4, ..., n_max, one step per n. Its KL from the SFT model has a closed form (Beirami et al. 2024, an upper
 * bound on the exact KL, reached as the outcomes become many and distinct; Stiennon et al. 2020 and Gao et al. 2022 use it):
 *   KL(pi_bon || pi_sft) <= log n - (n - 1) / n
 * One sampling pass serves the whole sweep: best of n is the best of the first n completions, so step n samples only
 * the n - n/2 that it adds to best of n/2, and each prompt is sampled n_max times in all.
 */
import type { Tokenizer } from '../data/tokenizer';
import type { GPT } from '../model/gpt';
import { defaultsOf, float, int, SEED, type SettingsOf } from '../settings';
import type { Metrics, Stage } from '../train/loop';
import type { PartSizer } from '../train/parts';
import { StepControl, type Phase, type StepControlOptions } from '../train/pausable';
import { mean, responseMetrics, type BestOfNMetrics, type PromptResponse } from './metrics';
import { scorePairs, type RewardModel } from './rewardModel';
import { rolloutShape, type Responses, type RolloutShape } from './rollout';
import { stepResponses } from './sampling';

/** Best-of-n's settings: defaults, ranges and explanations, the one source for the form and the code. */
export const BEST_OF_N_SETTINGS = [
  int('n_max', 'Largest n', 64, 1, 64, 'The sweep runs n = 1, 2, 4, … up to this, one step per n (the last step is n_max itself).'),
  int('prompts', 'Prompts', 8, 1, 256, 'Prompts, each answered n_max times by the SFT model.'),
  int('response_length', 'Max response tokens', 48, 4, 512, 'Longest completion the SFT model may write.'),
  float('temperature', 'Temperature', 1, 0.05, 3, 'Sampling temperature of the completions.'),
  SEED,
] as const;

export type BestOfNSettings = SettingsOf<typeof BEST_OF_N_SETTINGS>;
export const BEST_OF_N_DEFAULTS: BestOfNSettings = defaultsOf(BEST_OF_N_SETTINGS);

/** Rows per reward-model scoring call. */
const SCORE_ROWS = 32;

/** KL(best-of-n || base) <= log n - (n - 1) / n (Beirami et al. 2024), in nats: 0 at n = 1. */
export function bestOfNKl(n: number): number {
  return Math.log(n) - (n - 1) / n;
}

/** The sweep's n: 1, 2, 4, ... below nMax, then nMax. */
export function sweepSizes(nMax: number): number[] {
  const ns: number[] = [];
  for (let n = 1; n < nMax; n *= 2) ns.push(n);
  return [...ns, nMax];
}

/** Index of the highest of the first n rewards (the first of equals). */
export function bestOfFirst(rewards: number[], n: number): number {
  let best = 0;
  for (let i = 1; i < Math.min(n, rewards.length); i++) if (rewards[i] > rewards[best]) best = i;
  return best;
}

export type BestOfNPhase = Phase<'sampling' | 'scoring'>;

export interface BestOfNStageOptions {
  /** The SFT model: a frozen copy is sampled, so a policy trained meanwhile (PPO-ptx, GRPO) leaves the sweep alone. */
  policy: GPT;
  tokenizer: Tokenizer;
  /** Formatted prompts; the first `prompts` (setting) are answered. */
  prompts: string[];
  /** The reward: a reward model (not owned), or a program of the text. */
  rewardModel?: RewardModel;
  rewardFunction?: (prompt: string, response: string) => number;
  /** When a simulated labeler is active: its gold score of prompt + response, of the kept completions (objective/gold). */
  goldScorer?: (text: string) => number;
  settings?: Partial<BestOfNSettings>;
  control?: StepControlOptions<BestOfNPhase['name']>;
}

/** A prompt's completions so far, in the order sampled, and their rewards. */
interface Candidates {
  responses: string[];
  lengths: number[];
  rewards: number[];
}

export class BestOfNStage implements Stage {
  readonly name = 'best_of_n';
  readonly totalSteps: number;
  stepsDone = 0;
  readonly settings: BestOfNSettings;
  readonly shape: RolloutShape;
  /** The frozen SFT model that writes the completions (owned). */
  readonly sft: GPT;
  /** The kept completion of each prompt at the last step, for the UI's sample stream. */
  kept: (PromptResponse & { reward: number })[] = [];
  private readonly ns: number[];
  private readonly prompts: string[];
  private readonly promptTokens: number[][];
  private readonly candidates: Candidates[];
  private readonly tokenizer: Tokenizer;
  private readonly rewardModel?: RewardModel;
  private readonly rewardFunction?: (prompt: string, response: string) => number;
  private readonly goldScorer?: (text: string) => number;
  private readonly control: StepControl<BestOfNPhase['name']>;
  private readonly prefill: PartSizer;
  private lastMetrics: Metrics = {};

  constructor(opts: BestOfNStageOptions) {
    if (!opts.rewardModel && !opts.rewardFunction) throw new Error('Best-of-n needs a reward model or a reward function');
    this.settings = { ...BEST_OF_N_DEFAULTS, ...opts.settings };
    const s = this.settings;
    this.ns = sweepSizes(s.n_max);
    this.totalSteps = this.ns.length;
    this.sft = opts.policy.clone(false);
    this.tokenizer = opts.tokenizer;
    this.rewardModel = opts.rewardModel;
    this.rewardFunction = opts.rewardFunction;
    this.goldScorer = opts.goldScorer;
    this.prompts = opts.prompts.slice(0, s.prompts);
    if (this.prompts.length === 0) throw new Error('Best-of-n needs at least one prompt');
    this.promptTokens = this.prompts.map((p) => opts.tokenizer.encode(p));
    this.candidates = this.prompts.map(() => ({ responses: [], lengths: [], rewards: [] }));
    this.shape = rolloutShape(
      this.promptTokens.map((p) => p.length),
      opts.policy.config.blockSize,
      s.response_length,
    );
    this.control = new StepControl(opts.control);
    this.prefill = this.control.sizer();
  }

  /** The n of the next step (of the last, once done). */
  get n(): number {
    return this.ns[Math.min(this.stepsDone, this.ns.length - 1)];
  }

  /** Samples the completions that best of n adds to best of the previous n, scores them, keeps each prompt's best. */
  async step(): Promise<Metrics> {
    const n = this.n;
    const added = n - (this.stepsDone > 0 ? this.ns[this.stepsDone - 1] : 0);
    const rows = this.prompts.flatMap((_, i) => Array<number>(added).fill(i));
    let started = performance.now();
    const responses = await stepResponses(
      this.sft,
      this.tokenizer,
      rows.map((i) => this.promptTokens[i]),
      this.shape,
      {
        ...this.settings,
        step: this.stepsDone,
        control: this.control,
        prefill: this.prefill,
        label: `sampling ${rows.length} completions`,
      },
    );
    if (!responses) return {}; // paused while sampling: the next step() samples them again, with the same seed
    const sample = (performance.now() - started) / 1000;
    started = performance.now();
    this.control.onPhase?.({ name: 'scoring', label: 'rewarding the completions', done: 0, total: 1 });
    const rewards = await this.rewards(rows, responses);
    rows.forEach((i, r) => {
      const c = this.candidates[i];
      c.responses.push(responses.texts[r]);
      c.lengths.push(Math.min(responses.pairs[r].response.length, this.shape.responseTokens));
      c.rewards.push(rewards[r]);
    });
    this.stepsDone += 1;
    this.lastMetrics = this.keptMetrics(n, { sample, score: (performance.now() - started) / 1000 });
    return this.lastMetrics;
  }

  /** r(x, y) of each sampled row: the reward function's, or the reward model's score at the last token. */
  private async rewards(rows: number[], responses: Responses): Promise<number[]> {
    if (this.rewardFunction) return rows.map((i, r) => this.rewardFunction!(this.prompts[i], responses.texts[r]));
    return scorePairs(this.rewardModel!, responses.pairs, this.shape.time, this.tokenizer.eosId, SCORE_ROWS);
  }

  /** The figures of best of the first n (metrics.ts BEST_OF_N_METRIC_NAMES), and what the kept completions honour. */
  private keptMetrics(n: number, seconds: { sample: number; score: number }): BestOfNMetrics & Metrics {
    const best = this.candidates.map((c) => bestOfFirst(c.rewards, n));
    this.kept = this.candidates.map((c, i) => ({ prompt: this.prompts[i], response: c.responses[best[i]], reward: c.rewards[best[i]] }));
    return {
      'best_of_n/n': n,
      reward: mean(this.kept.map((k) => k.reward)),
      reward_mean: mean(this.candidates.flatMap((c) => c.rewards.slice(0, n))),
      'objective/kl': bestOfNKl(n),
      'completions/mean_length': mean(this.candidates.map((c, i) => c.lengths[best[i]])),
      'time/sample_s': seconds.sample,
      'time/score_s': seconds.score,
      ...responseMetrics(this.kept, this.goldScorer),
    };
  }

  /** The last step's figures again (a lesson or the session evaluating at the end reads best of the last n). */
  async evaluate(): Promise<Metrics> {
    return { ...this.lastMetrics };
  }

  dispose(): void {
    this.sft.dispose();
  }
}
