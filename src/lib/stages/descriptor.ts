/**
 * A stage descriptor: everything the session and the UI need to know of one training stage, in one
 * record. The plain-data part (StageInfo: title, settings, charts, stats, its place in the pipeline and
 * the lineage) travels to the UI; `create` and the hooks stay in the worker. The session, the autosave
 * and the ranking flow know a stage only through these fields: adding a stage is one descriptor and one
 * line in registry.ts.
 */
import type { Variable } from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../data/tokenizer';
import type { Ranking } from '../rlhf/rankings';
import type { Demonstration } from '../rlhf/sft';
import { type SettingSpec, type SettingsOf, type SettingValues } from '../settings';
import type { Metrics, Stage } from '../train/loop';
import type { TokenSplit } from '../train/pretrain';
import type { SampleView, StageInfo, StageName, StagePhase, StageState } from '../types';

/**
 * What a stage may call inside a step: report its phase, and ask whether to stop at its next boundary; and how long
 * one part of a step may hold the thread (a stage that can split its steps into parts does).
 */
export interface StageControl {
  onPhase(phase: StagePhase): void;
  shouldStop(): boolean;
  partMs?: number;
  /**
   * Work off the path of the next step (a task refill, the sample stream): it runs beside it, its progress (from
   * `start`) shown apart from the step's phase, the samples it returns shown; while one of start's name runs, another
   * is not started.
   */
  aside?(start: StagePhase, work: (report: (phase: StagePhase) => void) => Promise<SampleView[] | void>): void;
}

/** What a stage is built from and may talk to while it runs; the session supplies it. */
export interface StageContext {
  model: GPT;
  tokenizer: Tokenizer;
  corpus: TokenSplit;
  /** Formatted instruction prompts for rollouts and ranking tasks. */
  prompts: string[];
  /** Formatted prompts never trained on, where the caller keeps some (a lesson's): a stage that only measures uses them. */
  heldOutPrompts?: string[];
  rankings: readonly Ranking[];
  demonstrations: readonly Demonstration[];
  /** Another stage's object while it exists (e.g. the reward model for PPO-ptx), else null. */
  stageObject(name: StageName): Stage | null;
  stageState(name: StageName): StageState;
  /** The simulated labeler's gold score, when lecture mode is on. */
  goldScorer?: (text: string) => number;
  /** A reward from text in place of the reward model (a lesson's PPO on the labeler's gold score). */
  rewardFunction?: (prompt: string, response: string) => number;
  /** The ranking flow: rankings that arrived during a run, the task queue, the reward model's figures. */
  rankingFlow: {
    /** The rankings that arrived, in one reward-model update whose steps `report` names; given up (they wait) once `stop()`. */
    applyPending(progress?: { stop?: () => boolean; report?: (phase: StagePhase) => void }): Promise<void>;
    /** Resolves once no reward-model update is in flight (a step about to score with it waits for this). */
    rewardUpdated?(): Promise<void>;
    /** Given up once `stop()` is true; its sampling's progress goes to `report`. */
    refillQueue(stop?: () => boolean, report?: (phase: StagePhase) => void): Promise<void>;
    rewardTrained(): Promise<void>;
    rewardDropped(): void;
  };
}

/** A model that scores completions and learns from rankings in small background updates: the reward model. */
export interface RankingScorer {
  addRankings(rankings: Ranking[]): void;
  /** One incremental update on the rankings added since the last (Eq. 1); its training figures. */
  update(): Promise<Metrics>;
  /** update() reporting its steps, stopped between them or their parts by `stop()` (null: the rest comes next time). */
  updateStoppably(progress: { onStep?(done: number, total: number): void; stop?(): boolean }): Promise<Metrics | null>;
  /** Held-out figures (pair accuracy and its interval). */
  evaluate(): Promise<Metrics>;
  predictMany(items: { prompt: string; completions: string[] }[]): Promise<number[][]>;
}

/** How a stage takes the rankings that arrive while it exists (submitted, from a labeler, a classroom, a file). */
export interface LiveRankings {
  /**
   * The rankings join its training set, used from its next step. Called while it trains; a stage without a
   * scorer is also called while it waits paused or done.
   */
  join(stage: Stage, added: Ranking[]): void;
  /**
   * Once it has trained: the model that the ranking flow updates with queued rankings between runs (or at the
   * step boundaries of a stage that `uses` it), and whose scores the ranking tasks show.
   */
  scorer?(stage: Stage): RankingScorer;
}

export interface StageDescriptor<S extends SettingValues = SettingValues> extends StageInfo {
  /** Metric names without a namespace get `${metricPrefix}/` (default: the stage's name; '' keeps them). */
  metricPrefix?: string;
  /** The training metric (before namespacing) whose rise far above its start flags a divergence (default: 'loss'). */
  lossMetric?: string;
  /** Stages whose object this one uses while it exists: they cannot be reset or retrained until this one is reset. */
  uses?: StageName[];
  /** Steps the stage plans to run under these settings (0 when it only knows once created). */
  plannedSteps(settings: S): number;
  /** Why the stage cannot start now under these settings, or null. */
  blocker?(ctx: StageContext, settings: S): string | null;
  /** A rule between settings (one field alone is checked against its spec), or null. */
  validate?(settings: S): string | null;
  /** Held-out evaluation every so many steps when the settings have no eval_every (default: only at the end). */
  evalEvery?: number;
  /** Also evaluate before the first step (reported at step 0), to show where the stage starts from. */
  evalAtStart?: boolean;
  create(ctx: StageContext, settings: S, control?: StageControl): Stage;
  /** After each step: interleaved work such as reward-model updates; samples it returns are shown. */
  afterStep?(stage: Stage, step: number, ctx: StageContext, control: StageControl): Promise<SampleView[] | void>;
  /** Once it finished, and once an autosave restored it finished. */
  onDone?(stage: Stage, ctx: StageContext): Promise<void>;
  /** Frees the stage (default: stage.dispose()). */
  release?(stage: Stage, ctx: StageContext): void;
  /**
   * The models it holds besides the shared policy (a frozen reference, a reward model and its head), in a fixed
   * order: the autosave keeps their weights and loads them back into the stage it recreates (default: none).
   */
  savedVariables?(stage: Stage): Variable[];
  /** Rankings that arrive while it exists reach it (default: they do not). */
  liveRankings?: LiveRankings;
  /** How ranking tasks sample while its policy writes them (`writesTasks`), or before any such stage exists. */
  taskSampling?(settings: S): { temperature: number; maxNewTokens: number };
}

/** How ranking tasks sample when no registered stage says (`taskSampling`). */
export const DEFAULT_TASK_SAMPLING = { temperature: 1, maxNewTokens: 64 };

/** A stage whose settings type is its spec's: the one place where checked values meet their type. */
export function defineStage<const Specs extends readonly SettingSpec[]>(
  descriptor: Omit<StageDescriptor<SettingsOf<Specs>>, 'settings'> & { settings: Specs },
): StageDescriptor {
  return descriptor as unknown as StageDescriptor;
}

/** The fields of a descriptor that travel to the UI as they are. */
const INFO_FIELDS = [
  'name',
  'title',
  'summary',
  'settings',
  'charts',
  'stats',
  'stepLabel',
  'withRankings',
  'lineage',
  'writesTasks',
  'stepName',
  'after',
  'doneWhenShipped',
  'promptMix',
] as const satisfies readonly (keyof StageInfo)[];

/** The plain-data part, for the UI. */
export function stageInfo(d: StageDescriptor): StageInfo {
  const info = Object.fromEntries(INFO_FIELDS.map((key) => [key, d[key]])) as unknown as StageInfo;
  return { ...info, scoresRankings: d.liveRankings?.scorer ? true : undefined };
}

/** Metric names get the stage's namespace (pretrain/loss, sft/val_loss, reward/pair_accuracy) unless they have one. */
export function namespaced(prefix: string, metrics: Metrics): Metrics {
  if (!prefix) return metrics;
  return Object.fromEntries(Object.entries(metrics).map(([k, v]) => [k.includes('/') ? k : `${prefix}/${k}`, v]));
}
