/**
 * The playground's domain types: backends, stages, settings, metrics, samples, rankings and events.
 * Types only (and no tfjs): the UI, the worker wiring and the session all speak these.
 */
import type { ModelConfig, PresetName } from './model/config';
import type { TokenizerKind } from './data/tokenizer';
import type { TaskFamily } from './data/tasks/families';
import type { MetricPoint, RunRecord, RunSummary } from './runs/record';
import type { SettingSpec, SettingValues } from './settings';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  adapter: string;
  /** Why each earlier backend in the order was passed over (and why wasm runs on one thread, where it does). */
  fallbackReasons: string[];
  /** tfjs-wasm's thread count; absent on the other backends */
  threads?: number;
}

/** A stage's name as its descriptor declares it (src/lib/stages/registry.ts lists them). */
export type StageName = string;
/** 'pausing': a pause was asked for and takes effect at the stage's next safe boundary (a PPO minibatch). */
export type StageState = 'not-started' | 'running' | 'pausing' | 'paused' | 'done' | 'error';

export interface ModelInfo {
  preset: PresetName | 'custom';
  config: ModelConfig;
  params: number;
  tokenizer: { kind: TokenizerKind; vocabSize: number };
  source: string;
  /** Where the weights come from, newest first: e.g. ["PPO-ptx iteration 29", "SFT", "shipped mini checkpoint"]. */
  lineage: string[];
  /** The policy version: it grows with every change of the weights (a step, a reset, a new model). */
  version: number;
  /** For a shipped checkpoint: its pretraining, from the metadata beside it (checkpoints/default.json). */
  pretrained?: { valLoss: number; steps: number };
}

/** The policy's weights changed: its lineage and version (tasks older than `epoch` were discarded). */
export interface LineageInfo {
  lineage: string[];
  version: number;
  /** The version where the current lineage began (a new model, SFT finished, a reset). */
  epoch: number;
}

/** Where a stage is inside one step (e.g. PPO-ptx: sampling, scoring, an update minibatch), for its progress bar. */
export interface StagePhase {
  /** e.g. 'sampling', 'scoring', 'update', 'ptx'. */
  name: string;
  /** Human-readable: "sampling rollouts 12/48 tokens", "update epoch 2/4, minibatch 1/2". */
  label: string;
  done: number;
  total: number;
}

export interface CorpusInfo {
  kind: 'builtin' | 'user';
  name: string;
  characters: number;
  documents: number;
  trainTokens: number;
  valTokens: number;
}

export type CorpusSource = { kind: 'builtin'; documents?: number; seed?: number } | { kind: 'user'; name: string; text: string };

export interface NewModelOptions {
  preset: PresetName;
  tokenizer: TokenizerKind;
  /** BPE only: vocabulary size including the 256 bytes and the end-of-text token. */
  vocabSize?: number;
  seed?: number;
}

export interface StageStatus {
  state: StageState;
  step: number;
  total: number;
  /** Steps run beyond the planned `total`, e.g. the reward model's incremental updates on new rankings (absent: none). */
  extraSteps?: number;
  message?: string;
  /** Where the stage is inside its current step, while it runs. */
  phase?: StagePhase;
  /** Work beside its steps, off their path (a ranking-task refill, the sample stream), while it runs. */
  aside?: StagePhase[];
  /** A warning about the run, e.g. its loss rose far above where it started (train/divergence.ts). */
  warning?: string;
}

export type Settings = SettingValues;

/** One line of a stage's charts: a metric, optionally only its train or eval points. */
export interface SeriesSpec {
  key: string;
  label: string;
  kind?: 'train' | 'eval';
}

/** A chart of a stage's metrics, or of a lesson's runs (one line per run and series). */
export interface ChartSpec {
  /** data-testid of the chart, stable for tests. */
  id: string;
  title: string;
  note?: string;
  series: SeriesSpec[];
  /** Shown only once one of its metrics has a point (e.g. the gold score, only with a labeler). */
  optional?: boolean;
  /** A dashed horizontal line to read the series against (e.g. chance, 50 %, for pair accuracy). */
  reference?: ChartReference;
  /** The metric on the x axis, read from the same point as the series (default: the step), and its scale. */
  x?: string;
  xScale?: 'sqrt';
  xLabel?: string;
  yLabel?: string;
  /** Lesson charts: the runs drawn (default: every run that records a series). */
  runs?: string[];
  /** 'line' (default); 'points': one point per run, its last values (e.g. a frontier). */
  style?: 'line' | 'points';
  /**
   * Lesson charts: a curve of Gao et al.'s form least-squares fitted through a run's points of the first series (x as
   * drawn, sqrt(KL) with xScale 'sqrt'), drawn dashed (src/lib/lessons/gaoFits.ts).
   */
  fits?: { run: string; form: GaoForm }[];
}

/** Gao et al. 2022's forms of gold against d = sqrt(KL): best-of-n d (alpha - beta d), RL d (alpha - beta log d). */
export type GaoForm = 'best-of-n' | 'rl';

export interface ChartReference {
  value: number;
  label: string;
}

/** A headline number of a stage: the last point's value of one metric. */
export interface StatSpec {
  /** data-testid, stable for tests. */
  id: string;
  label: string;
  key: string;
  kind?: 'train' | 'eval';
  format?: 'fixed3' | 'fixed4' | 'percent' | 'integer';
  optional?: boolean;
}

/** What the UI needs to know of a stage: everything but the code that trains. Plain data, sent by the worker. */
export interface StageInfo {
  name: StageName;
  title: string;
  /** One paragraph: what the stage does (plain text). */
  summary: string;
  settings: readonly SettingSpec[];
  charts: ChartSpec[];
  stats: StatSpec[];
  /** x-axis label of its charts. */
  stepLabel: string;
  /** Whether the ranking panel sits beside this stage's panel. */
  withRankings?: boolean;
  /**
   * Its link in the policy's lineage. Default: named by its title once done ("SFT"), by its step before
   * ("SFT step 6"). 'start': its finish begins a new lineage (older ranking tasks are discarded). 'end': the
   * product, always named by its step ("PPO-ptx iteration 29"). 'off': it does not change the policy (the reward
   * model): not in the lineage, and its reset leaves the policy's version alone.
   */
  lineage?: 'start' | 'end' | 'off';
  /** While it exists its policy writes the ranking tasks: they carry its step, and the ranking panel names it. */
  writesTasks?: boolean;
  /** Once it exists it scores the ranking tasks and learns each new ranking in an incremental update (the reward model). */
  scoresRankings?: boolean;
  /** A step of it in running text, when not `${title} ${stepLabel}` ("PPO iteration"). */
  stepName?: string;
  /** An alternative branch: the stage it follows in the pipeline, when not the one listed before it (DPO after SFT). */
  after?: StageName;
  /** The shipped checkpoint has done this stage already (pretraining): the pipeline says so until it runs here. */
  doneWhenShipped?: boolean;
  /**
   * The key of its setting that declares the task mix (a shares setting, data/tasks/mix.ts): the prompts of ranking
   * tasks and rollouts are drawn from it. One stage declares it (SFT).
   */
  promptMix?: string;
}

export interface EngineStatus {
  backend: BackendInfo;
  /** The stages in pipeline order. */
  stageInfo: StageInfo[];
  model: ModelInfo | null;
  corpus: CorpusInfo | null;
  stages: Record<StageName, StageStatus>;
  settings: Record<StageName, Settings>;
  /** Whether rankings and the autosave outlive the page, why not, and when the session was last saved. */
  storage?: { persistent: boolean; problem: string; savedAt: number | null };
}

export type { MetricPoint };

export interface SampleView {
  prompt: string;
  completion: string;
  /** Filled in where a reward model or a reference model is at hand. */
  reward?: number;
  /** KL(policy || SFT) of this completion: the k3 estimate summed over its tokens, never negative (rlhf/kl.ts). */
  klK3?: number;
  /** The SFT (reference) model's completion for the same prompt, in the PPO sample stream. */
  reference?: { completion: string; reward?: number };
}

/** A prompt with K completions sampled from the current policy, waiting to be ranked. */
export interface RankingTask {
  id: string;
  prompt: string;
  /** The task family of the prompt (data/tasks: closed QA, generation, …); null for a prompt no family writes. */
  family?: TaskFamily | null;
  completions: string[];
  /** The step of the stage whose policy wrote the completions (`writesTasks`: PPO-ptx's iteration); 0 before one exists. */
  iteration: number;
  /** The policy version that wrote it (ModelInfo.version then). */
  version: number;
  /** Which model wrote it, e.g. "PPO-ptx iteration 3", "SFT", "shipped mini checkpoint". */
  origin: string;
  /** The reward model's scores of the completions, when a reward model exists. */
  predicted?: number[];
}

/** The reward model's pair accuracy on held-out rankings, the pairs it rests on and its 95 % interval (clustered by ranking). */
export interface HeldOutAccuracy {
  accuracy: number;
  pairs: number;
  low: number;
  high: number;
}

export interface RankingCounters {
  rankings: number;
  pairs: number;
  /** The reward model's held-out pair accuracy; null before it has trained or while nothing is held out. */
  heldOut: HeldOutAccuracy | null;
  /** Incremental reward-model updates run so far. */
  rewardUpdates: number;
  /** Ranking tasks waiting in the queue. */
  queued: number;
  /** Rankings stored but not yet applied to the reward model. */
  waitingForReward: number;
  /** The task-writing stage's step (a PPO iteration) at whose boundary the last update was applied; null when applied outside one or never. */
  appliedAtIteration: number | null;
  demonstrations: number;
}

export interface LabelerInfo {
  id: string;
  name: string;
  description: string;
}

/** Lecture mode: a simulated labeler ranks fresh samples by itself. */
export interface LabelerSettings {
  /** null = off. */
  labelerId: string | null;
  /** Share of pairs on which it agrees with its own gold order: 1 = always, ~0.73 = the paper's labelers. */
  agreement: number;
  /** Rankings per minute. */
  pace: number;
  /** Completions per ranking (2..9). */
  k: number;
}

export interface RankingSubmitResult {
  counters: RankingCounters;
  /**
   * Not filled by a submit any more (the reward-model update runs after it returns): the scores come
   * with the 'reward-update' event. Kept optional for callers that fill it themselves.
   */
  predicted?: number[];
}

/** An incremental reward-model update applied some queued rankings. */
export interface RewardUpdateInfo {
  applied: number;
  /** The task-writing stage's step (a PPO iteration) at whose boundary it ran; null outside one. */
  atIteration: number | null;
  /** The updated reward model's scores of the applied rankings' completions (the last few), by task id. */
  predicted: { taskId: string; scores: number[] }[];
  counters: RankingCounters;
}

/** A lesson as the UI lists it (src/lib/lessons/lessons.ts): everything but its code. Plain data. */
export interface LessonInfo {
  id: string;
  title: string;
  explanation: string;
  paperFinding: string;
  charts: ChartSpec[];
  /** Its runs: each trains one stage of the registry. */
  runs: { id: string; label: string; stage: StageName }[];
  /**
   * The lesson runs on the shipped tiny model (checkpoints/tiny.safetensors) at the tiny sizes, not on the current
   * model: at these sizes (mini's on a CPU backend) its finding does not show on the mini model within 3 minutes.
   */
  onTinyModel: boolean;
  /** The lesson starts from the shipped pretrained model of the current size (lesson 0: SFT), not the current model. */
  fromPretrained: boolean;
  /** The lesson starts from the shipped task-pretrained model (the tiny one for the tiny preset), on the task families. */
  fromTasks?: boolean;
}

/**
 * 'tiny' and 'mini': the sizes for that model preset ('mini' on a GPU backend); 'mini-cpu': the mini model's on
 * wasm or cpu (each lesson within about 3 minutes on 2 cores); 'quick': the smallest (tests).
 */
export type LessonSizeName = 'tiny' | 'mini' | 'mini-cpu' | 'quick';

/** The open lesson: its progress like a stage's, its runs' series and samples, and its measured-result sentence. */
export interface LessonView {
  id: string;
  /** The run-history stage name its runs are recorded under: `lesson:<id>`. */
  stage: StageName;
  sizes: LessonSizeName;
  status: StageStatus;
  /** Index of the run the next step advances; records.length when the lesson is done. */
  run: number;
  records: RunRecord[];
  summary: string;
  /** Seconds spent in the lesson's steps. */
  seconds: number;
}

export type EngineEvent =
  | { type: 'metrics'; stage: StageName; points: MetricPoint[] }
  | { type: 'rankings'; counters: RankingCounters }
  | { type: 'state'; stage: StageName; status: StageStatus }
  | { type: 'samples'; stage: StageName; step: number; samples: SampleView[] }
  | { type: 'model'; model: ModelInfo }
  /** The recorded runs (without their points), after each change: a run began, stopped, was renamed or deleted. */
  | { type: 'lineage'; lineage: LineageInfo }
  | { type: 'reward-update'; update: RewardUpdateInfo }
  | { type: 'runs'; runs: RunSummary[] }
  /** The open lesson after each step and state change. */
  | { type: 'lesson'; lesson: LessonView }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  /** An autosave was written (confirmed), and what it cost in ms. */
  | { type: 'saved'; savedAt: number; costMs: number }
  /** The GPU device was lost: the weights on it are gone; the UI restarts the engine from the autosave. */
  | { type: 'lost'; reason: string };

export interface SampleRequest {
  prompts?: string[];
  count?: number;
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  seed?: number;
}
