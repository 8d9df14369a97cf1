/**
 * The typed contract between the UI and the engine worker (through comlink). Types only: importing
 * this file pulls no tfjs into the main thread.
 */
import type { ModelConfig, PresetName } from '../src/lib/model/config';
import type { TokenizerKind } from '../src/lib/data/tokenizer';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

export interface BackendInfo {
  name: BackendName;
  adapter: string;
  /** Why each earlier backend in the order was passed over. */
  fallbackReasons: string[];
}

export type StageName = 'pretrain' | 'sft' | 'reward' | 'ppo';
export const STAGES: StageName[] = ['pretrain', 'sft', 'reward', 'ppo'];
export type StageState = 'not-started' | 'running' | 'paused' | 'done' | 'error';

export interface ModelInfo {
  preset: PresetName | 'custom';
  config: ModelConfig;
  params: number;
  tokenizer: { kind: TokenizerKind; vocabSize: number };
  source: string;
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
  message?: string;
}

export type Settings = Record<string, number | string | boolean>;

export interface EngineStatus {
  backend: BackendInfo;
  model: ModelInfo | null;
  corpus: CorpusInfo | null;
  stages: Record<StageName, StageStatus>;
  settings: Record<StageName, Settings>;
}

export interface MetricPoint {
  step: number;
  kind: 'train' | 'eval';
  values: Record<string, number>;
}

export interface SampleView {
  prompt: string;
  completion: string;
  /** Filled in where a reward model or a reference model is at hand. */
  reward?: number;
  kl?: number;
  /** The SFT (reference) model's completion for the same prompt, in the PPO sample stream. */
  reference?: { completion: string; reward?: number };
}

/** A prompt with K completions sampled from the current policy, waiting to be ranked. */
export interface RankingTask {
  id: string;
  prompt: string;
  completions: string[];
  /** The PPO iteration (0 before PPO) of the policy that wrote the completions. */
  iteration: number;
  /** The reward model's scores of the completions, when a reward model exists. */
  predicted?: number[];
}

export interface RankingCounters {
  rankings: number;
  pairs: number;
  /** Pair accuracy of the reward model on held-out rankings; null before it has trained. */
  heldOutAccuracy: number | null;
  /** Incremental reward-model updates run so far. */
  rewardUpdates: number;
  /** Ranking tasks waiting in the queue. */
  queued: number;
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
  /** The reward model's scores of the ranked completions (after the update), when one exists. */
  predicted?: number[];
}

export type EngineEvent =
  | { type: 'metrics'; stage: StageName; points: MetricPoint[] }
  | { type: 'rankings'; counters: RankingCounters }
  | { type: 'state'; stage: StageName; status: StageStatus }
  | { type: 'samples'; stage: StageName; step: number; samples: SampleView[] }
  | { type: 'model'; model: ModelInfo }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export interface SampleRequest {
  prompts?: string[];
  count?: number;
  maxNewTokens?: number;
  temperature?: number;
  topK?: number;
  seed?: number;
}

export interface EngineApi {
  /** Picks the backend, loads the shipped checkpoint (or a fresh model when it is missing) and the built-in corpus. */
  init(options: { preferredBackend?: BackendName; checkpointUrl?: string }, onEvent: (e: EngineEvent) => void): Promise<EngineStatus>;
  status(): Promise<EngineStatus>;
  newModel(options: NewModelOptions): Promise<ModelInfo>;
  loadShipped(): Promise<ModelInfo>;
  setCorpus(source: CorpusSource): Promise<CorpusInfo>;
  /** Validates and stores stage settings; throws an Error whose message names the bad value and its range. */
  configure(stage: StageName, settings: Settings): Promise<Settings>;
  run(stage: StageName): Promise<void>;
  pause(stage: StageName): Promise<void>;
  step(stage: StageName): Promise<void>;
  reset(stage: StageName): Promise<void>;
  sample(request: SampleRequest): Promise<SampleView[]>;
  exportCheckpoint(): Promise<Uint8Array>;
  importCheckpoint(bytes: Uint8Array, name: string): Promise<ModelInfo>;
  saveToBrowser(slot: string): Promise<void>;
  loadFromBrowser(slot: string): Promise<ModelInfo>;
  listSaved(): Promise<string[]>;

  // ---- rankings, demonstrations, lecture mode ----
  /**
   * The next prompt with k completions to rank. While PPO-ptx runs the engine keeps a short queue filled
   * from the newest policy; otherwise it samples one now. Throws if there is no model yet.
   */
  nextRankingTask(k: number): Promise<RankingTask>;
  /** Stores the ranking (IndexedDB at once) and, when a reward model exists, updates it (between PPO iterations while PPO runs). */
  submitRanking(taskId: string, order: number[]): Promise<RankingSubmitResult>;
  skipRankingTask(taskId: string): Promise<void>;
  counters(): Promise<RankingCounters>;
  /** A demonstration of the user's own for SFT (prompt: the instruction text, without the format). Returns the number of user demonstrations. */
  addDemonstration(instruction: string, response: string): Promise<number>;
  /** JSON Lines: 'rankings' = one full ranking per line; 'pairs' = TRL's prompt/chosen/rejected, one line per pair. */
  exportRankings(format: 'rankings' | 'pairs'): Promise<string>;
  /** Accepts either export format; bad lines are reported by number and nothing already stored is lost. */
  importRankings(text: string): Promise<{ added: number; errors: string[]; counters: RankingCounters }>;
  clearRankings(): Promise<RankingCounters>;
  labelers(): Promise<LabelerInfo[]>;
  setLabeler(settings: LabelerSettings): Promise<void>;
}
