/**
 * The DOM-free lesson engine's data: what a lesson is (its runs, charts and how it words its result),
 * what it runs on (a context the session supplies) and what a run records (metric series).
 */
import type { Labeler } from '../data/labelers';
import type { Tokenizer } from '../data/tokenizer';
import type { GPT } from '../model/gpt';
import type { PpoSettings } from '../rlhf/ppo';
import type { RewardSettings } from '../rlhf/rewardTrainer';
import type { SftSettings } from '../rlhf/sft';

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
  pretrainTokens?: Int32Array;
  /** Pretraining tokens never trained on: the held-out pretraining loss (alignment tax). */
  heldOutPretrainTokens?: Int32Array;
  /** The simulated labeler: its rankings train the reward models; its gold score is the truth. */
  labeler: Labeler;
  /**
   * How long one part of a training step may hold the thread (the app: PART_MS, so that a worker answers and its
   * watchdog hears it); unset: whole steps (scripts, tests).
   */
  partMs?: number;
}

/** One point of a run's metric series: `step` is the run's step count after the step (1, 2, ...). */
export interface SeriesPoint {
  step: number;
  values: Record<string, number>;
}

export interface SampleSet {
  /** e.g. 'gold peak (iteration 12)' or 'end (iteration 40)'. */
  label: string;
  step: number;
  items: { prompt: string; response: string; gold: number; proxy?: number; /** Shown instead of the gold score. */ badge?: string }[];
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
}

/**
 * Lesson 1 and 2: one step trains a fresh reward model on the first `rankingCounts[i]` rankings and measures
 * its held-out pair accuracy (against the labeler's rankings and against the gold order).
 */
export interface RewardSweepRunSpec {
  kind: 'reward-sweep';
  id: string;
  label: string;
  rankings: RankingSpec;
  rankingCounts: number[];
  /** Held-out rankings (always K = heldOutK, same labeler and agreement). */
  heldOutRankings: number;
  heldOutK: number;
  reward: Partial<RewardSettings>;
  /** A labeler id that replaces the context's for this run (a taste that shows in short completions). */
  labeler?: string;
}

/** Trains one reward model on labeler rankings and keeps it under `produces` for later PPO runs; a step = a training step. */
export interface RewardModelRunSpec {
  kind: 'reward-model';
  id: string;
  label: string;
  rankings: RankingSpec;
  count: number;
  heldOutRankings: number;
  reward: Partial<RewardSettings>;
  produces: string;
  /** A labeler id that replaces the context's for this run. */
  labeler?: string;
}

/** PPO from the context's policy; a step = a PPO iteration. */
export interface PpoRunSpec {
  kind: 'ppo';
  id: string;
  label: string;
  /** The name of a reward model an earlier run produced, or 'gold' for the labeler's gold score as the reward. */
  reward: string;
  ppo: Partial<PpoSettings>;
  /** Held-out evaluations (gold, pretraining loss, win rate) every `evalEvery` iterations and at the end; 0 = only at the end. */
  evalEvery: number;
  /** Held-out pretraining loss: windows per evaluation (0 = off). */
  heldOutLossBatches?: number;
  /** Win rate against the SFT model, judged by the labeler on this many held-out prompts (0 = off). */
  winRatePrompts?: number;
  /** Gold of the policy's samples on this many held-out prompts at each evaluation (0 = off). */
  heldOutGoldPrompts?: number;
  /** Keep the rollouts of the iteration with the highest gold, and of the last iteration. */
  keepSamples?: boolean;
  /** A labeler id that replaces the context's for this run (its gold score, and the reward when that is 'gold'). */
  labeler?: string;
}

/**
 * Lesson 0: SFT from a clone of the context's policy (the pretrained model); a step = an SFT step. Instruction following
 * on held-out prompts before the first step, every `evalEvery` steps and at the end.
 */
export interface SftRunSpec {
  kind: 'sft';
  id: string;
  label: string;
  sft: Partial<SftSettings>;
  /** Held-out instructions (that name something) sampled at each evaluation. */
  followingPrompts: number;
  /** Longest sampled response of that measure (0: as much as the context leaves). */
  followingTokens: number;
  evalEvery: number;
}

export type RunSpec = RewardSweepRunSpec | RewardModelRunSpec | PpoRunSpec | SftRunSpec;

export interface RunRecord {
  id: string;
  label: string;
  kind: RunSpec['kind'];
  spec: RunSpec;
  totalSteps: number;
  stepsDone: number;
  series: SeriesPoint[];
  samples: SampleSet[];
  /** Seconds spent in this run's steps. */
  seconds: number;
}

export interface ChartSpec {
  id: string;
  title: string;
  /** A metric name of the series ('step' = the run's step). */
  x: string;
  xLabel: string;
  /** Metric names plotted against x; one line per run and metric. */
  y: string[];
  yLabel: string;
  /** Runs drawn (default: every run that records the y metrics). */
  runs?: string[];
  /** 'line' (default): one line per run; 'points': one point per run, its last values (e.g. a frontier). */
  style?: 'line' | 'points';
}

export interface Lesson {
  id: string;
  title: string;
  /** What to look at, in two or three sentences. */
  explanation: string;
  /** What the paper (or the work it builds on) found. */
  paperFinding: string;
  runs: RunSpec[];
  charts: ChartSpec[];
  /**
   * What the lesson's runs start from: 'current' (default) the session's policy (SFT or pretrained); 'pretrained' the
   * shipped pretrained checkpoint of the current size, whatever the session has trained since (lesson 0 trains SFT on it).
   */
  base?: 'current' | 'pretrained';
  /** Measured result in one or two sentences, from the finished (or partly finished) runs. */
  summarise(runs: RunRecord[]): string;
}
