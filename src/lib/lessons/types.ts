/**
 * What a lesson is: runs, each a stage of the registry (src/lib/stages/) with its settings and what to
 * evaluate; charts (the app's ChartSpec) of their metrics; and how it words its result. What it runs on:
 * a context the session supplies. What a run records: the app's RunRecord (src/lib/runs/record.ts).
 */
import type { Labeler } from '../data/labelers';
import type { Tokenizer } from '../data/tokenizer';
import type { GPT } from '../model/gpt';
import type { Demonstration } from '../rlhf/sft';
import type { RunRecord } from '../runs/record';
import type { SettingValues } from '../settings';
import type { ChartSpec, StageName } from '../types';
import type { TaskContextOptions } from './context';

/** What the session hands the lesson engine. Nothing in it is modified or disposed by the engine. */
export interface LessonContext {
  /** The SFT (or pretrained) policy. Runs train clones of it; it also serves as PPO's frozen reference. */
  policy: GPT;
  tokenizer: Tokenizer;
  /** Formatted prompts for rollouts and for the completions that the labeler ranks. */
  prompts: string[];
  /** Formatted prompts never trained on: win rates and held-out gold. */
  heldOutPrompts: string[];
  /** Pretraining tokens for PPO-ptx's pretraining term. */
  pretrainTokens: Int32Array;
  /** Pretraining tokens never trained on: the held-out pretraining loss (alignment tax). */
  heldOutPretrainTokens: Int32Array;
  /** The simulated labeler: its rankings train the reward models; its gold score is the truth. */
  labeler: Labeler;
  /** Demonstrations an SFT run trains on beside its built-in ones (the task mix: tasksLessonContext). */
  demonstrations?: Demonstration[];
  /**
   * How long one part of a training step may hold the thread (the app: PART_MS, so that a worker answers and its
   * watchdog hears it); unset: whole steps (scripts, tests).
   */
  partMs?: number;
}

/** Settings of the simulated labeler's rankings. */
export interface RankingSpec {
  /** Completions per ranking (2..9). */
  k: number;
  /** Pair agreement of the labeler with its own gold order (1 = noiseless; the paper's labelers: ~0.73). */
  agreement: number;
  /** Tokens per sampled completion. */
  responseLength: number;
  temperature: number;
  seed: number;
  /**
   * Where the completions come from: 'policy' samples them from the context's policy (what PPO will meet);
   * 'demonstrations' takes 1 to 4 sentences of the world's demonstrations (varied, well-formed text that
   * shows the labeler's taste clearly; no sampling, so it is quick).
   */
  source: 'policy' | 'demonstrations';
  /**
   * The labeler reads each completion with its prompt in front, as lecture mode hands it a task: for labelers that judge
   * a response against its input ('no-made-up-facts'). Unset: the completion alone.
   */
  prompted?: boolean;
}

/**
 * How an evaluation samples responses: tokens and temperature (default: the run's response_length and temperature
 * settings, PPO's), so that runs of different stages can be measured alike.
 */
export interface Sampling {
  responseLength?: number;
  temperature?: number;
  /** Seed of the samples (default: the run's seed setting); the same seed in two runs samples them alike. */
  seed?: number;
}

/** What a lesson measures beyond the stage's own metrics (src/lib/lessons/evaluations.ts; names in metrics.ts). */
export type Evaluation =
  /** Held-out pair accuracy of a reward model against the labeler's rankings and against its gold order. */
  | { kind: 'ranking-accuracy'; rankings: number; k: number }
  /** The labeler's gold score of the policy's responses to this many held-out prompts (fixed sampling seed). */
  | ({ kind: 'held-out-gold'; prompts: number } & Sampling)
  /**
   * KL from the SFT model (the context's policy, every policy run's reference) of the policy's own responses to this
   * many held-out prompts, on the held-out gold samples (data.ts klFromReference): the same for a PPO and a DPO run.
   */
  | ({ kind: 'kl-from-sft'; prompts: number } & Sampling)
  /** The labeler judges the policy's responses against the SFT model's on this many held-out prompts. */
  | ({ kind: 'win-rate'; prompts: number } & Sampling)
  /** The policy's loss on held-out pretraining text, over this many windows. */
  | { kind: 'pretrain-loss'; batches: number }
  /** Instruction following on this many held-out instructions (responses up to `tokens`, 0: the context's room). */
  | { kind: 'instruction-following'; prompts: number; tokens: number }
  /**
   * pass@1 and pass@k on this many held-out instructions: k responses to each (up to `tokens`, 0: the context's room);
   * a response passes when it honours at least `threshold` (default 1: all) of what its instruction named.
   */
  | { kind: 'pass-at-k'; prompts: number; k: number; tokens: number; threshold?: number }
  /**
   * Made-up facts (data/tasks/grade.ts) on this many held-out closed-domain prompts (the context's held-out prompts):
   * the share of responses that name a character, animal, object or place their input story does not, with its 95 %
   * interval, and each family's share correct; keeps the responses of the first evaluation and the latest.
   */
  | ({ kind: 'made-up-facts'; prompts: number } & Sampling);

/**
 * One run of a lesson: the registry's stage `stage` with `settings` over its defaults, trained from a clone of the
 * context's policy (a reward model: a copy of it with a scalar head), evaluated every `evalEvery` steps and at the end
 * (and before the first step, for a policy). A step of the run is a step of the stage, except for a sweep.
 */
export interface LessonRunSpec {
  id: string;
  label: string;
  stage: StageName;
  settings: SettingValues;
  evaluations: Evaluation[];
  /** Evaluations every so many steps and at the end (0: only at the end). */
  evalEvery: number;
  /** SFT: how many of the context's demonstrations (the task mix) it trains on beside its built-in ones. */
  demonstrations?: number;
  /** Reward models: the labeler's rankings they train on (`count` of them). */
  rankings?: RankingSpec & { count: number };
  /** A sweep: step i trains a fresh stage to its end on the first sweep[i] rankings, then evaluates it. */
  sweep?: number[];
  /** Reward models: the name later PPO runs of the lesson find it under; a policy run: the name later runs start `from`. */
  produces?: string;
  /**
   * A policy an earlier run produced (its `produces`): this run trains a clone of it instead of the context's policy, and
   * that policy is this run's SFT model (its reference, the sampler of its rankings, what KL is measured from).
   */
  from?: string;
  /** PPO: a reward model an earlier run produced, or 'gold' for the labeler's gold score as the reward. */
  reward?: string;
  /** PPO: keep the samples of the evaluation (or iteration) with the highest gold and the latest. */
  keepSamples?: boolean;
  /** A labeler id that replaces the context's for this run. */
  labeler?: string;
}

export interface Lesson {
  id: string;
  title: string;
  /** What to look at, in two or three sentences. */
  explanation: string;
  /** What the paper (or the work it builds on) found. */
  paperFinding: string;
  runs: LessonRunSpec[];
  /** One line per run and series; series name the metrics the runs record (metrics.ts). */
  charts: ChartSpec[];
  /**
   * What the lesson's runs start from: 'current' (default) the session's policy (SFT or pretrained); 'pretrained' the
   * shipped pretrained checkpoint of the current size, whatever the session has trained since (lesson 0 trains SFT on it);
   * 'tasks' the shipped task-pretrained checkpoint (the tiny one for the tiny preset) with the task families' prompts.
   */
  base?: 'current' | 'pretrained' | 'tasks';
  /** For base 'tasks': how its context draws task prompts and demonstrations (tasksLessonContext). */
  tasks?: Omit<TaskContextOptions, 'labeler' | 'seed'>;
  /** Measured result in one or two sentences, from the finished (or partly finished) runs. */
  summarise(runs: RunRecord[]): string;
}
