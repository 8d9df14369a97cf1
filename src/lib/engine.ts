/**
 * The playground's session: the current model and tokenizer, the corpus, and the four stages with
 * their settings and training loops. DOM-free: the worker exposes it through comlink, and Node
 * tests drive it directly on the cpu backend.
 */
import type {
  CorpusInfo, CorpusSource, EngineEvent, EngineStatus, LabelerInfo, LabelerSettings, ModelInfo, NewModelOptions, RankingCounters,
  RankingSubmitResult, RankingTask, SampleRequest, SampleView, Settings, StageName, StageStatus, BackendInfo,
} from '../../workers/api';
import { STAGES } from '../../workers/api';
import { configFromPreset, countParams, PRESETS, type ModelConfig, type PresetName } from './model/config';
import { checkpointOf, decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from './model/checkpoint';
import { GPT } from './model/gpt';
import { sample } from './model/sampler';
import { BpeTokenizer } from './data/bpeTokenizer';
import { CharTokenizer } from './data/charTokenizer';
import { encodeDocuments, splitTrainVal, validateCorpus } from './data/corpus';
import type { Tokenizer } from './data/tokenizer';
import { LABELERS } from './data/labelers';
import { generateCorpus, generatePrompts } from './data/world';
import { RankingDesk, QUEUE_LENGTH } from './rankingDesk';
import type { Ranking, RankingSource } from './rlhf/rankings';
import { PpoStage, type PpoSettings } from './rlhf/ppo';
import { RewardModel } from './rlhf/rewardModel';
import { RewardStage, type RewardSettings } from './rlhf/rewardTrainer';
import { builtInDemonstrations, SftStage, type SftSettings } from './rlhf/sft';
import { idbGet, idbKeys, idbPut } from './storage/idb';
import { MetricThrottle } from './events';
import { applySettings, defaultSettings, STAGE_SETTINGS, type SettingValues } from './settings';
import { TrainingLoop, type Stage } from './train/loop';
import { PretrainStage, type PretrainSettings, type TokenSplit } from './train/pretrain';

export const DEFAULT_CORPUS_DOCUMENTS = 6000;
const VAL_SHARE = 0.1;
/** Prompts for PPO rollouts and for ranking tasks. */
const PROMPT_COUNT = 500;
/** Built-in demonstrations scored to normalise the reward (paper §3.5: demonstrations have mean reward 0). */
const NORMALISING_DEMOS = 32;
/** PPO iterations between refreshes of the SFT-vs-policy sample stream. */
const PPO_SAMPLE_EVERY = 2;

interface Corpus {
  info: CorpusInfo;
  documents: string[];
  tokens: TokenSplit;
}

interface RunningStage {
  stage: Stage;
  loop: TrainingLoop;
  /** The policy's weights when the stage began, restored by reset. */
  snapshot: GPT | null;
}

function presetOf(config: ModelConfig): PresetName | 'custom' {
  for (const [name, shape] of Object.entries(PRESETS)) {
    if (Object.entries(shape).every(([k, v]) => config[k as keyof ModelConfig] === v)) return name as PresetName;
  }
  return 'custom';
}

export class Engine {
  backend: BackendInfo;
  private model: GPT | null = null;
  private tokenizer: Tokenizer | null = null;
  private modelSource = '';
  private corpus: Corpus | null = null;
  private readonly settings: Record<StageName, SettingValues>;
  private readonly stages: Partial<Record<StageName, RunningStage>> = {};
  private readonly emit: (e: EngineEvent) => void;
  private readonly metrics: MetricThrottle;
  readonly desk = new RankingDesk();
  /** The trained reward model's stage; it lives on after training for incremental updates and predictions. */
  private reward: RewardStage | null = null;
  private heldOutAccuracy: number | null = null;
  private rewardUpdates = 0;
  /** Rankings that arrived while PPO-ptx runs: the reward model takes them between iterations. */
  private pendingRankings: Ranking[] = [];
  private readonly prompts = generatePrompts(7, PROMPT_COUNT);
  private promptCursor = 0;
  private labelerTimer: ReturnType<typeof setInterval> | null = null;
  private labelerBusy = false;
  private refilling = false;
  private readonly loadBytes: (url: string) => Promise<Uint8Array>;

  constructor(backend: BackendInfo, emit: (e: EngineEvent) => void, loadBytes: (url: string) => Promise<Uint8Array>) {
    this.backend = backend;
    this.emit = emit;
    this.metrics = new MetricThrottle(emit, (stages) => stages.forEach((stage) => emit({ type: 'state', stage, status: this.stageStatus(stage) })));
    this.loadBytes = loadBytes;
    this.settings = Object.fromEntries(STAGES.map((s) => [s, defaultSettings(STAGE_SETTINGS[s])])) as Record<StageName, SettingValues>;
  }

  // ---- model and corpus ----

  get modelInfo(): ModelInfo | null {
    if (!this.model || !this.tokenizer) return null;
    const config = this.model.config;
    return { preset: presetOf(config), config, params: countParams(config), tokenizer: { kind: this.tokenizer.kind, vocabSize: this.tokenizer.vocabSize }, source: this.modelSource };
  }

  get policy(): { model: GPT; tokenizer: Tokenizer } {
    if (!this.model || !this.tokenizer) throw new Error('No model is loaded yet.');
    return { model: this.model, tokenizer: this.tokenizer };
  }

  private setModel(model: GPT, tokenizer: Tokenizer, source: string): ModelInfo {
    this.stopAll();
    this.model?.dispose();
    this.model = model;
    const tokenizerChanged = tokenizer !== this.tokenizer;
    this.tokenizer = tokenizer;
    this.modelSource = source;
    this.desk.queue.length = 0;
    if (this.corpus && tokenizerChanged) this.corpus = this.tokenize(this.corpus.info.kind, this.corpus.info.name, this.corpus.documents);
    const info = this.modelInfo!;
    this.emit({ type: 'model', model: info });
    return info;
  }

  async loadCheckpointUrl(url: string): Promise<ModelInfo> {
    const ckpt = decodeCheckpoint(await this.loadBytes(url));
    return this.setModel(modelFromCheckpoint(ckpt), ckpt.tokenizer, ckpt.note || 'shipped checkpoint');
  }

  /** A fresh model, with a tokenizer trained on the current corpus. */
  newModel(options: NewModelOptions): ModelInfo {
    const corpus = this.requireCorpus();
    const text = corpus.documents.join('\n');
    const tokenizer = options.tokenizer === 'bpe' ? BpeTokenizer.train(text, options.vocabSize ?? 512) : CharTokenizer.fromText(text);
    const model = GPT.init(configFromPreset(options.preset, tokenizer.vocabSize), options.seed ?? 1);
    return this.setModel(model, tokenizer, `new ${options.preset} model`);
  }

  setCorpus(source: CorpusSource): CorpusInfo {
    let documents: string[];
    let name: string;
    if (source.kind === 'builtin') {
      const count = source.documents ?? DEFAULT_CORPUS_DOCUMENTS;
      documents = generateCorpus({ seed: source.seed ?? 1, documents: count }).map((d) => d.text);
      name = `built-in world (${count} texts)`;
    } else {
      const checked = validateCorpus(source.text);
      if (!checked.ok) throw new Error(checked.error);
      documents = checked.text.split(/\n\s*\n/).filter((d) => d.trim().length > 0);
      name = source.name;
    }
    this.stopAll();
    this.corpus = this.tokenize(source.kind, name, documents);
    return this.corpus.info;
  }

  private tokenize(kind: CorpusInfo['kind'], name: string, documents: string[]): Corpus {
    const tokenizer = this.tokenizer;
    const { train, val } = splitTrainVal(documents, VAL_SHARE, 1);
    const tokens = tokenizer ? { train: encodeDocuments(tokenizer, train), val: encodeDocuments(tokenizer, val) } : { train: new Int32Array(), val: new Int32Array() };
    const characters = documents.reduce((n, d) => n + d.length, 0);
    return { documents, tokens, info: { kind, name, characters, documents: documents.length, trainTokens: tokens.train.length, valTokens: tokens.val.length } };
  }

  private requireCorpus(): Corpus {
    if (!this.corpus) throw new Error('No corpus is loaded yet.');
    return this.corpus;
  }

  // ---- stages ----

  configure(stage: StageName, changes: Settings): Settings {
    const running = this.stages[stage];
    if (running && running.loop.state === 'running') throw new Error('Pause the stage before changing its settings.');
    const next = applySettings(STAGE_SETTINGS[stage], this.settings[stage], changes);
    if (stage === 'ppo' && Number(next.mini_batch_size) > Number(next.batch_size)) {
      throw new Error(`Minibatch (${next.mini_batch_size}) must not be larger than the rollouts per batch (${next.batch_size}).`);
    }
    this.settings[stage] = next;
    return next;
  }

  stageStatus(stage: StageName): StageStatus {
    const running = this.stages[stage];
    if (!running) return { state: 'not-started', step: 0, total: this.totalSteps(stage) };
    const state = running.loop.state === 'idle' ? 'not-started' : running.loop.state;
    return { state, step: running.stage.stepsDone, total: running.stage.totalSteps, message: running.loop.message || undefined };
  }

  private totalSteps(stage: StageName): number {
    const s = this.settings[stage];
    return Number(s.steps ?? s.iterations ?? 0);
  }

  private createStage(name: StageName): Stage {
    const { model } = this.policy;
    const { tokenizer } = this.policy;
    if (name === 'pretrain') {
      const corpus = this.requireCorpus();
      return new PretrainStage(model, corpus.tokens, { ...(this.settings.pretrain as unknown as PretrainSettings), eval_batches: 4 });
    }
    if (name === 'sft') return new SftStage(model, tokenizer, this.settings.sft as unknown as Partial<SftSettings>, this.desk.demonstrations);
    if (name === 'reward') return this.createRewardStage();
    return this.createPpoStage();
  }

  private createRewardStage(): RewardStage {
    const { model, tokenizer } = this.policy;
    const settings = this.settings.reward as unknown as RewardSettings;
    if (this.desk.rankings.length < 2) throw new Error('Rank at least two prompts first (or let a simulated labeler rank), then train the reward model.');
    if (this.stages.ppo) throw new Error('Reset PPO-ptx first: it is using the current reward model.');
    this.disposeReward();
    const demonstrations = [...builtInDemonstrations(settings.seed, 0, NORMALISING_DEMOS).val, ...this.desk.demonstrations];
    const stage = new RewardStage(RewardModel.fromPolicy(model, settings.seed), tokenizer, this.desk.rankings, settings, { demonstrations });
    if (stage.counts.train === 0) {
      stage.rewardModel.dispose();
      stage.dispose();
      throw new Error('All rankings so far fell into the held-out share: rank a few more prompts.');
    }
    this.reward = stage;
    this.pendingRankings = [];
    return stage;
  }

  private createPpoStage(): PpoStage {
    const { model, tokenizer } = this.policy;
    if (!this.reward || this.stageStatus('reward').state === 'running') throw new Error('Train the reward model first: PPO-ptx maximises its score.');
    return new PpoStage({
      policy: model,
      tokenizer,
      prompts: this.prompts,
      rewardModel: this.reward.rewardModel,
      pretrainTokens: this.requireCorpus().tokens.train,
      goldScorer: this.desk.goldScorer(),
      settings: this.settings.ppo as unknown as Partial<PpoSettings>,
    });
  }

  private ensureStage(name: StageName): RunningStage {
    const existing = this.stages[name];
    if (existing && existing.loop.state !== 'done' && existing.loop.state !== 'error') return existing;
    if (existing) this.disposeStage(name);
    const stage = this.createStage(name);
    const loop = new TrainingLoop(stage, this.hooksFor(name), { evalEvery: Number(this.settings[name].eval_every ?? 0) });
    const running: RunningStage = { stage, loop, snapshot: this.policy.model.clone(false) };
    this.stages[name] = running;
    return running;
  }

  private hooksFor(name: StageName) {
    return {
      onMetrics: (step: number, values: Record<string, number>, kind: 'train' | 'eval') => this.metrics.push(name, { step, kind, values }),
      onState: (state: string) => {
        this.metrics.flush();
        this.emit({ type: 'state', stage: name, status: this.stageStatus(name) });
        if (name === 'reward' && state === 'done') void this.rewardTrained();
      },
      afterStep: async (step: number) => {
        if (name === 'ppo') return this.betweenPpoIterations(step);
        const every = Number(this.settings[name].sample_every ?? 0);
        if (every > 0 && step % every === 0) this.emit({ type: 'samples', stage: name, step, samples: await this.sample({ count: 3, maxNewTokens: 64, seed: step }) });
      },
    };
  }

  private async rewardTrained(): Promise<void> {
    if (!this.reward) return;
    const metrics = await this.reward.evaluate();
    this.heldOutAccuracy = metrics.pair_accuracy ?? null;
    this.emitCounters();
  }

  /** Between PPO-ptx iterations: new rankings update the reward model, the ranking queue is refilled from the newest policy, and the sample stream refreshes. */
  private async betweenPpoIterations(step: number): Promise<void> {
    await this.applyPendingRankings();
    await this.refillQueue();
    if (step % PPO_SAMPLE_EVERY === 0 || step === 1) await this.emitPpoSamples(step);
  }

  private async applyPendingRankings(): Promise<void> {
    if (!this.reward || this.pendingRankings.length === 0) return;
    this.reward.addRankings(this.pendingRankings);
    this.pendingRankings = [];
    const trained = await this.reward.update();
    this.rewardUpdates += 1;
    const held = await this.reward.evaluate();
    this.heldOutAccuracy = held.pair_accuracy ?? this.heldOutAccuracy;
    this.metrics.push('reward', { step: this.reward.stepsDone + this.rewardUpdates, kind: 'eval', values: { ...trained, ...held } });
    this.emitCounters();
  }

  private async emitPpoSamples(step: number): Promise<void> {
    const ppo = this.stages.ppo?.stage as PpoStage | undefined;
    if (!ppo || !this.reward) return;
    const shown = ppo.lastSamples.slice(0, 3);
    const references = await ppo.sampleReference(shown.map((s) => s.prompt), step);
    const samples: SampleView[] = [];
    for (const [i, s] of shown.entries()) {
      const [referenceReward] = await this.reward.predict(s.prompt, [references[i].response]);
      samples.push({ prompt: s.prompt, completion: s.response, reward: s.score, kl: s.kl, reference: { completion: references[i].response, reward: referenceReward } });
    }
    this.emit({ type: 'samples', stage: 'ppo', step, samples });
  }

  /** Only one stage trains at a time: they share the model and the GPU. */
  private async pauseOthers(except: StageName): Promise<void> {
    for (const name of STAGES) if (name !== except) await this.stages[name]?.loop.pause();
  }

  async run(name: StageName): Promise<void> {
    await this.pauseOthers(name);
    void this.ensureStage(name).loop.run();
  }

  async pause(name: StageName): Promise<void> {
    await this.stages[name]?.loop.pause();
  }

  async step(name: StageName): Promise<void> {
    await this.pauseOthers(name);
    await this.ensureStage(name).loop.stepOnce();
  }

  /** Undoes a stage: restores the weights from before it began and clears its progress. */
  async reset(name: StageName): Promise<void> {
    if (name === 'reward' && this.stages.ppo) throw new Error('Reset PPO-ptx first: it is using the current reward model.');
    const running = this.stages[name];
    if (name === 'reward') this.disposeReward();
    if (!running) return;
    await running.loop.pause();
    if (running.snapshot && this.model) this.model.copyFrom(running.snapshot);
    this.disposeStage(name);
    this.emit({ type: 'state', stage: name, status: this.stageStatus(name) });
  }

  /** Drops the reward model and its stage (the stage in `stages.reward`, when there is one, is this same object). */
  private disposeReward(): void {
    if (this.reward) {
      if (this.stages.reward?.stage === this.reward) {
        this.stages.reward.snapshot?.dispose();
        delete this.stages.reward;
      }
      this.reward.rewardModel.dispose();
      this.reward.dispose();
      this.reward = null;
    }
    this.heldOutAccuracy = null;
    this.emitCounters();
  }

  private disposeStage(name: StageName): void {
    const running = this.stages[name];
    if (!running) return;
    if (name === 'reward' && running.stage === this.reward) return this.disposeReward();
    running.stage.dispose();
    running.snapshot?.dispose();
    delete this.stages[name];
  }

  private stopAll(): void {
    for (const name of STAGES) {
      const running = this.stages[name];
      if (running) running.loop.state = 'paused';
      this.disposeStage(name);
    }
  }

  // ---- sampling ----

  async sample(request: SampleRequest): Promise<SampleView[]> {
    const { model, tokenizer } = this.policy;
    // An empty prompt samples a fresh document: the model sees the end-of-text token that separates documents.
    const prompts = request.prompts ?? new Array<string>(request.count ?? 3).fill('');
    const encoded = prompts.map((p) => (p ? tokenizer.encode(p) : [tokenizer.eosId]).slice(-(model.config.blockSize - 8)));
    const maxNewTokens = Math.min(request.maxNewTokens ?? 64, model.config.blockSize - Math.max(...encoded.map((e) => e.length)));
    const { completions } = await sample(model, encoded, {
      maxNewTokens, temperature: request.temperature ?? 1, topK: request.topK ?? 0, seed: request.seed ?? 1, eosId: tokenizer.eosId,
    });
    return prompts.map((prompt, i) => ({ prompt, completion: tokenizer.decode(completions[i]) }));
  }

  // ---- rankings, demonstrations, lecture mode ----

  counters(): RankingCounters {
    return {
      rankings: this.desk.rankings.length,
      pairs: this.desk.pairs,
      heldOutAccuracy: this.heldOutAccuracy,
      rewardUpdates: this.rewardUpdates,
      queued: this.desk.queue.length,
      demonstrations: this.desk.demonstrations.length,
    };
  }

  private emitCounters(): void {
    this.emit({ type: 'rankings', counters: this.counters() });
  }

  /** Restores stored rankings and demonstrations (IndexedDB). */
  async restore(): Promise<void> {
    await this.desk.load();
    this.emitCounters();
  }

  /** A prompt with k completions sampled now from the current policy, scored by the reward model when there is one. */
  private async sampleTask(k: number): Promise<RankingTask> {
    const { model, tokenizer } = this.policy;
    if (k < 2 || k > 9 || !Number.isInteger(k)) throw new Error('K must be a whole number from 2 to 9.');
    const prompt = this.prompts[this.promptCursor++ % this.prompts.length];
    const ppo = this.settings.ppo;
    const promptTokens = tokenizer.encode(prompt);
    const maxNewTokens = Math.min(Number(ppo.response_length), model.config.blockSize - promptTokens.length);
    const { completions } = await sample(model, new Array(k).fill(promptTokens), {
      maxNewTokens, temperature: Number(ppo.temperature), topK: 0, seed: (this.promptCursor * 7919) >>> 0, eosId: tokenizer.eosId,
    });
    const texts = completions.map((c) => tokenizer.decode(c));
    const predicted = this.reward ? await this.reward.predict(prompt, texts) : undefined;
    return { id: this.desk.newTaskId(), prompt, completions: texts, iteration: this.stages.ppo?.stage.stepsDone ?? 0, predicted };
  }

  private async refillQueue(): Promise<void> {
    if (this.refilling || this.desk.queue.length >= QUEUE_LENGTH || !this.model) return;
    this.refilling = true;
    try {
      this.desk.queue.push(await this.sampleTask(this.desk.labeler.k));
      this.emitCounters();
    } finally {
      this.refilling = false;
    }
  }

  async nextRankingTask(k: number): Promise<RankingTask> {
    const task = this.desk.takeQueued(k) ?? (await this.sampleTask(k));
    return this.desk.hand(task);
  }

  skipRankingTask(taskId: string): void {
    this.desk.skip(taskId);
  }

  async submitRanking(taskId: string, order: number[], source: RankingSource = 'user', labelerId?: string): Promise<RankingSubmitResult> {
    const ranking = await this.desk.record(taskId, order, source, labelerId);
    if (this.reward) {
      const ppoRunning = this.stageStatus('ppo').state === 'running';
      const rewardRunning = this.stageStatus('reward').state === 'running';
      if (rewardRunning) this.reward.addRankings([ranking]);
      else {
        this.pendingRankings.push(ranking);
        if (!ppoRunning) await this.applyPendingRankings();
      }
    }
    this.emitCounters();
    const predicted = this.reward ? await this.reward.predict(ranking.prompt, ranking.completions) : undefined;
    return { counters: this.counters(), predicted };
  }

  async addDemonstration(instruction: string, response: string): Promise<number> {
    const count = await this.desk.addDemonstration(instruction, response);
    this.emitCounters();
    return count;
  }

  exportRankings(format: 'rankings' | 'pairs'): string {
    return this.desk.export(format);
  }

  async importRankings(text: string): Promise<{ added: number; errors: string[]; counters: RankingCounters }> {
    const { added, errors } = await this.desk.import(text);
    if (this.reward && added.length) {
      this.pendingRankings.push(...added);
      if (this.stageStatus('ppo').state !== 'running') await this.applyPendingRankings();
    }
    this.emitCounters();
    return { added: added.length, errors, counters: this.counters() };
  }

  async clearRankings(): Promise<RankingCounters> {
    await this.desk.clear();
    this.pendingRankings = [];
    this.emitCounters();
    return this.counters();
  }

  labelers(): LabelerInfo[] {
    return LABELERS.map(({ id, name, description }) => ({ id, name, description }));
  }

  /** Lecture mode: the labeler ranks a fresh task every 60/pace seconds, on its own. */
  setLabeler(settings: LabelerSettings): void {
    if (settings.labelerId && !LABELERS.some((l) => l.id === settings.labelerId)) throw new Error(`Unknown labeler "${settings.labelerId}".`);
    if (!(settings.agreement >= 0.5 && settings.agreement <= 1)) throw new Error('Agreement must be between 0.5 and 1.');
    if (!(settings.pace > 0 && settings.pace <= 120)) throw new Error('Pace must be between 1 and 120 rankings a minute.');
    if (!(Number.isInteger(settings.k) && settings.k >= 2 && settings.k <= 9)) throw new Error('K must be a whole number from 2 to 9.');
    this.desk.labeler = { ...settings };
    if (this.labelerTimer) clearInterval(this.labelerTimer);
    this.labelerTimer = settings.labelerId ? setInterval(() => void this.labelerTick(), 60_000 / settings.pace) : null;
  }

  /** One ranking by the simulated labeler; returns false when it had nothing to do. */
  async labelerTick(): Promise<boolean> {
    const { labelerId, k } = this.desk.labeler;
    if (!labelerId || this.labelerBusy || !this.model) return false;
    this.labelerBusy = true;
    try {
      const task = this.desk.hand(this.desk.takeQueued(k) ?? (await this.sampleTask(k)));
      await this.submitRanking(task.id, this.desk.labelerOrder(task)!, 'labeler', labelerId);
      return true;
    } catch (err) {
      this.emit({ type: 'log', level: 'warn', message: `The simulated labeler stopped: ${(err as Error).message}` });
      this.setLabeler({ ...this.desk.labeler, labelerId: null });
      return false;
    } finally {
      this.labelerBusy = false;
    }
  }

  // ---- checkpoints ----

  async exportCheckpoint(): Promise<Uint8Array> {
    const { model, tokenizer } = this.policy;
    return encodeCheckpoint(await checkpointOf(model, tokenizer, 'policy', new Map(), this.modelSource));
  }

  /** Decodes and checks everything first: a bad file throws and leaves the current model as it was. */
  importCheckpoint(bytes: Uint8Array, name: string): ModelInfo {
    const ckpt = decodeCheckpoint(bytes);
    if (ckpt.kind !== 'policy') throw new Error(`Cannot load this checkpoint: it holds a ${ckpt.kind} model, not a policy.`);
    return this.setModel(modelFromCheckpoint(ckpt), ckpt.tokenizer, name);
  }

  async saveToBrowser(slot: string): Promise<void> {
    await idbPut('checkpoints', slot, await this.exportCheckpoint());
  }

  async loadFromBrowser(slot: string): Promise<ModelInfo> {
    const bytes = await idbGet<Uint8Array>('checkpoints', slot);
    if (!bytes) throw new Error(`Nothing is saved in the browser under "${slot}".`);
    return this.importCheckpoint(bytes, `browser: ${slot}`);
  }

  listSaved(): Promise<string[]> {
    return idbKeys('checkpoints');
  }

  status(): EngineStatus {
    const stages = Object.fromEntries(STAGES.map((s) => [s, this.stageStatus(s)])) as Record<StageName, StageStatus>;
    return { backend: this.backend, model: this.modelInfo, corpus: this.corpus?.info ?? null, stages, settings: this.settings };
  }
}
