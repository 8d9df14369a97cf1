/**
 * The playground's session: the current model and tokenizer, the corpus, and the four stages with
 * their settings and training loops. DOM-free: the worker exposes it through comlink, and Node
 * tests drive it directly on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import type {
  CorpusInfo, CorpusSource, EngineEvent, EngineStatus, ModelInfo, NewModelOptions, SampleRequest, SampleView, Settings,
  StageName, StageStatus, BackendInfo,
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
import { generateCorpus } from './data/world';
import { idbGet, idbKeys, idbPut } from './storage/idb';
import { MetricThrottle } from './events';
import { applySettings, defaultSettings, STAGE_SETTINGS, type SettingValues } from './settings';
import { TrainingLoop, type Stage } from './train/loop';
import { PretrainStage, type PretrainSettings, type TokenSplit } from './train/pretrain';

export const DEFAULT_CORPUS_DOCUMENTS = 6000;
const VAL_SHARE = 0.1;

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
    this.settings[stage] = applySettings(STAGE_SETTINGS[stage], this.settings[stage], changes);
    return this.settings[stage];
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
    if (name === 'pretrain') {
      const corpus = this.requireCorpus();
      return new PretrainStage(model, corpus.tokens, { ...(this.settings.pretrain as unknown as PretrainSettings), eval_batches: 4 });
    }
    throw new Error(`The ${name} stage is not available yet.`);
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
      onState: () => {
        this.metrics.flush();
        this.emit({ type: 'state', stage: name, status: this.stageStatus(name) });
      },
      afterStep: async (step: number) => {
        const every = Number(this.settings[name].sample_every ?? 0);
        if (every > 0 && step % every === 0) this.emit({ type: 'samples', stage: name, step, samples: await this.sample({ count: 3, maxNewTokens: 64, seed: step }) });
      },
    };
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
    const running = this.stages[name];
    if (!running) return;
    await running.loop.pause();
    if (running.snapshot && this.model) this.model.copyFrom(running.snapshot);
    this.disposeStage(name);
    this.emit({ type: 'state', stage: name, status: this.stageStatus(name) });
  }

  private disposeStage(name: StageName): void {
    const running = this.stages[name];
    if (!running) return;
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

  numTensors(): number {
    return tf.memory().numTensors;
  }
}
