/**
 * The playground's session, the facade the worker exposes through comlink (its public methods are the
 * worker API): the model, its tokenizer and the corpus, checkpoints, sampling, and the parts it
 * composes: the stage runner, the ranking flow and lecture mode. DOM-free; Node tests drive it on cpu.
 */
import { BpeTokenizer } from '../data/bpeTokenizer';
import { CharTokenizer } from '../data/charTokenizer';
import type { Tokenizer } from '../data/tokenizer';
import { generatePrompts } from '../data/world';
import { checkpointOf, decodeCheckpoint, encodeCheckpoint, probedModelFromCheckpoint } from '../model/checkpoint';
import { configFromPreset, countParams, presetOf } from '../model/config';
import { GPT } from '../model/gpt';
import { sample } from '../model/sampler';
import type { RankingSource } from '../rlhf/rankings';
import type { RewardStage } from '../rlhf/rewardTrainer';
import type { StageContext, StageDescriptor } from '../stages/descriptor';
import { stageInfo } from '../stages/descriptor';
import { ppoStage } from '../stages/ppo';
import { BUILT_IN_STAGES } from '../stages/registry';
import { rewardStage } from '../stages/reward';
import type { RunPatch, RunRecord, RunSummary } from '../runs/record';
import { RunRecorder } from '../runs/recorder';
import { defaultRunStore, type RunStore } from '../runs/runStore';
import { sftStage } from '../stages/sft';
import { idbDelete, idbGet, idbKeys, idbPut } from '../storage/idb';
import type * as T from '../types';
import { assignAll, AUTOSAVE_KEY, Autosaver, captureAutosave, stageVariables, type AutosaveRecord } from './autosave';
import { builtInCorpus, tokenizeCorpus, userCorpus, type Corpus } from './corpus';
import { LectureMode } from './lectureMode';
import { LessonDesk } from './lessonDesk';
import { MetricThrottle } from './metricStream';
import { RankingFlow } from './rankingFlow';
import { defaultRankingStore, type RankingStore } from './rankingStore';
import { isActive, namespaced, StageRunner } from './stageRunner';

/** Prompts for PPO rollouts and for ranking tasks. */
const PROMPT_COUNT = 500;

export interface SessionOptions {
  stages?: readonly StageDescriptor[];
  store?: RankingStore;
  /** Where run records go (default: IndexedDB when there is one, else memory). */
  runStore?: RunStore;
  /** Autosave to IndexedDB at step boundaries (the worker turns it on when storage works). */
  autosave?: boolean;
  /** Why storage is off, when it is (shown in the header). */
  storageProblem?: string;
}

/** Caps a kept metric series as the UI caps a chart: older points thinned 2:1. */
const MAX_POINTS = 4000;

export class Session {
  private model: GPT | null = null;
  private tokenizer: Tokenizer | null = null;
  private modelSource = '';
  /** The shipped checkpoint's pretraining figures, from the metadata file beside it. */
  private pretrained: T.ModelInfo['pretrained'];
  /** Grows with every change of the policy's weights: ranking tasks carry it, so stale ones can give way. */
  private version = 0;
  /** The version where the current lineage began (a new model, SFT finished, a reset). */
  private epoch = 0;
  private corpus: Corpus | null = null;
  private readonly prompts = generatePrompts(7, PROMPT_COUNT);
  private readonly metrics: MetricThrottle;
  private readonly runner: StageRunner;
  private readonly flow: RankingFlow;
  private readonly lecture: LectureMode;
  private readonly runs: RunRecorder;
  private readonly desk: LessonDesk;
  /** Stages whose run waits for the reward model's update; a pause meanwhile calls the run off. */
  private readonly runAsked = new Set<T.StageName>();
  private readonly storageProblem: string;
  private corpusSource: T.CorpusSource | null = null;
  /** The metric series and samples on show, kept here so that the autosave holds them. */
  private readonly series: Record<T.StageName, T.MetricPoint[]> = {};
  private readonly shown: Record<T.StageName, { step: number; samples: T.SampleView[] }> = {};
  private readonly autosaver: Autosaver | null;
  private savedAt: number | null = null;
  /** While an autosave is being restored, nothing is saved (a half-restored session must not overwrite it). */
  private restoring = false;

  constructor(
    public backend: T.BackendInfo,
    private readonly emit: (e: T.EngineEvent) => void,
    private readonly loadBytes: (url: string) => Promise<Uint8Array>,
    options: SessionOptions = {},
  ) {
    this.metrics = new MetricThrottle(emit, (moved) =>
      moved.forEach((stage) => emit({ type: 'state', stage, status: this.runner.status(stage) })),
    );
    this.runs = new RunRecorder({ store: options.runStore ?? defaultRunStore(), onChange: (runs) => emit({ type: 'runs', runs }) });
    this.runner = new StageRunner(options.stages ?? BUILT_IN_STAGES, {
      context: () => this.context(),
      onMetrics: (stage, point) => {
        this.keepPoint(stage, point);
        this.pushMetrics(stage, point);
        if (point.kind === 'train') this.autosaver?.request();
      },
      onStatus: (stage, status) => {
        this.metrics.flush();
        this.runs.status(stage, status);
        emit({ type: 'state', stage, status });
        if (!isActive(status.state) && !this.restoring) this.autosaver?.request(true);
        // a stage that read the reward model stopped: rankings that arrived since its last boundary go in now
        if (!isActive(status.state)) this.flow.kickRewardUpdates();
        if (status.state === 'done') this.emitLineage(); // "SFT step 6" becomes "SFT"
      },
      onCreate: (stage, settings) => this.runs.created(stage, settings),
      samplePolicy: (step) => this.sample({ count: 3, maxNewTokens: 64, seed: step }),
      emitSamples: (stage, step, samples) => {
        this.shown[stage] = { step, samples };
        emit({ type: 'samples', stage, step, samples });
      },
      onStepped: (stage) => this.policyChanged(stage === sftStage.name && this.finished(stage)),
      onReset: (stage) => {
        if (stage !== rewardStage.name) this.policyChanged(true);
      },
    });
    this.storageProblem = options.storageProblem ?? '';
    this.autosaver = options.autosave ? this.newAutosaver() : null;
    this.flow = new RankingFlow(this.flowHost(), options.store ?? defaultRankingStore());
    this.lecture = new LectureMode(
      this.flow,
      (message) => emit({ type: 'log', level: 'warn', message }),
      () => this.model !== null,
    );
    this.desk = new LessonDesk({
      policy: () => this.policy(),
      corpus: () => this.corpus?.tokens ?? null,
      labelerId: () => this.lecture.settings.labelerId,
      pauseStages: async () => {
        for (const d of this.runner.stages) await this.runner.pause(d.name);
      },
      runs: this.runs,
      emit,
      backend: () => this.backend.name,
      loadBytes: (url) => this.loadBytes(url),
    });
  }

  // ---- model and corpus ----

  get modelInfo(): T.ModelInfo | null {
    if (!this.model || !this.tokenizer) return null;
    const config = this.model.config;
    return {
      preset: presetOf(config),
      config,
      params: countParams(config),
      tokenizer: { kind: this.tokenizer.kind, vocabSize: this.tokenizer.vocabSize },
      source: this.modelSource,
      lineage: this.lineage(),
      version: this.version,
      pretrained: this.pretrained,
    };
  }

  /**
   * Where the weights come from, newest first, read from the stages that changed them since the model was
   * set: e.g. ["PPO-ptx iteration 29", "SFT", "shipped mini checkpoint"]. A reset stage drops out.
   */
  lineage(): string[] {
    const trained = this.runner.stages
      .filter((d) => d.name !== rewardStage.name && (this.runner.object(d.name)?.stepsDone ?? 0) > 0)
      .map((d) => {
        const status = this.runner.status(d.name);
        if (d.name === ppoStage.name) return `${d.title} iteration ${status.step}`;
        return status.state === 'done' ? d.title : `${d.title} step ${status.step}`;
      });
    return [...trained.reverse(), this.modelSource];
  }

  private finished(stage: T.StageName): boolean {
    const { step, total } = this.runner.status(stage);
    return total > 0 && step >= total;
  }

  /** The weights changed: a new version; a new lineage (SFT done, a reset, a new model) discards older tasks. */
  private policyChanged(newLineage: boolean): void {
    this.version += 1;
    if (newLineage) {
      this.epoch = this.version;
      this.flow.discardTasksBefore(this.epoch);
    }
    this.emitLineage();
  }

  private emitLineage(): void {
    this.emit({ type: 'lineage', lineage: { lineage: this.lineage(), version: this.version, epoch: this.epoch } });
  }

  private policy(): { model: GPT; tokenizer: Tokenizer } {
    if (!this.model || !this.tokenizer) throw new Error('No model is loaded yet.');
    return { model: this.model, tokenizer: this.tokenizer };
  }

  private setModel(model: GPT, tokenizer: Tokenizer, source: string, pretrained?: T.ModelInfo['pretrained']): T.ModelInfo {
    this.desk.close();
    this.runner.stopAll();
    this.model?.dispose();
    this.model = model;
    const tokenizerChanged = tokenizer !== this.tokenizer;
    this.tokenizer = tokenizer;
    this.modelSource = source;
    this.runs.setModel(source);
    this.pretrained = pretrained;
    this.flow.dropQueue();
    this.version += 1;
    this.epoch = this.version;
    if (this.corpus && tokenizerChanged)
      this.corpus = tokenizeCorpus(this.tokenizer, this.corpus.info.kind, this.corpus.info.name, this.corpus.documents);
    const info = this.modelInfo!;
    this.emit({ type: 'model', model: info });
    if (!this.restoring) this.autosaver?.request(true); // the lineage: a new or loaded model is the session's now
    return info;
  }

  async loadCheckpointUrl(url: string): Promise<T.ModelInfo> {
    const ckpt = decodeCheckpoint(await this.loadBytes(url));
    const model = await probedModelFromCheckpoint(ckpt);
    const pretrained = await this.checkpointMeta(url);
    return this.setModel(model, ckpt.tokenizer, ckpt.note || 'shipped checkpoint', pretrained);
  }

  /** The pretraining figures in the .json beside a shipped checkpoint (valLoss, steps); undefined when there is none. */
  private async checkpointMeta(url: string): Promise<T.ModelInfo['pretrained']> {
    try {
      const meta = JSON.parse(new TextDecoder().decode(await this.loadBytes(url.replace(/\.safetensors$/, '.json'))));
      return Number.isFinite(meta.valLoss) ? { valLoss: Number(meta.valLoss), steps: Number(meta.steps) || 0 } : undefined;
    } catch {
      return undefined;
    }
  }

  /** A fresh model, with a tokenizer trained on the current corpus. */
  newModel(options: T.NewModelOptions): T.ModelInfo {
    const corpus = this.requireCorpus();
    const text = corpus.documents.join('\n');
    const tokenizer = options.tokenizer === 'bpe' ? BpeTokenizer.train(text, options.vocabSize ?? 512) : CharTokenizer.fromText(text);
    const model = GPT.init(configFromPreset(options.preset, tokenizer.vocabSize), options.seed ?? 1);
    return this.setModel(model, tokenizer, `new ${options.preset} model`);
  }

  setCorpus(source: T.CorpusSource): T.CorpusInfo {
    const { name, documents } = source.kind === 'builtin' ? builtInCorpus(source) : userCorpus(source);
    this.desk.close();
    this.runner.stopAll();
    this.runs.stopAll();
    this.corpusSource = source;
    this.corpus = tokenizeCorpus(this.tokenizer, source.kind, name, documents);
    return this.corpus.info;
  }

  private requireCorpus(): Corpus {
    if (!this.corpus) throw new Error('No corpus is loaded yet.');
    return this.corpus;
  }

  // ---- stages ----

  /** Changes a stage's settings and saves them at once: a worker that dies before the next step must not take them along. */
  configure(stage: T.StageName, changes: T.Settings): T.Settings {
    const settings = this.runner.configure(stage, changes);
    if (!this.restoring) this.autosaver?.request(true);
    return settings;
  }
  /** Starts a stage once no background reward-model update is in flight (stages read or train the reward model). */
  async run(stage: T.StageName): Promise<void> {
    this.runAsked.add(stage);
    await this.flow.rewardSettled();
    if (!this.runAsked.delete(stage)) return; // paused while it waited: it does not start
    await this.desk.pause();
    return this.runner.run(stage);
  }
  /**
   * The state says "pausing" from now until the stage stops at its next boundary; rankings that waited then reach
   * the reward model. A run still waiting for the reward model is called off.
   */
  async pause(stage: T.StageName): Promise<void> {
    this.runAsked.delete(stage);
    await this.runner.pause(stage);
    this.flow.kickRewardUpdates();
  }
  async step(stage: T.StageName): Promise<void> {
    await this.flow.rewardSettled();
    await this.desk.pause();
    await this.runner.step(stage);
    this.flow.kickRewardUpdates();
  }
  async reset(stage: T.StageName): Promise<void> {
    await this.flow.rewardSettled();
    await this.runner.reset(stage, this.policy().model);
    this.series[stage] = [];
    delete this.shown[stage];
    this.autosaver?.request(true);
  }
  /** Resolves once the rankings submitted so far have reached the reward model (when it is free to learn them). */
  rewardSettled(): Promise<void> {
    return this.flow.rewardSettled();
  }
  /** Where the weights come from, their version, and where the current lineage began. */
  lineageInfo(): T.LineageInfo {
    return { lineage: this.lineage(), version: this.version, epoch: this.epoch };
  }

  status(): T.EngineStatus {
    const names = this.runner.stages.map((d) => d.name);
    return {
      backend: this.backend,
      stageInfo: this.runner.stages.map(stageInfo),
      model: this.modelInfo,
      corpus: this.corpus?.info ?? null,
      stages: Object.fromEntries(names.map((s) => [s, this.runner.status(s)])),
      settings: { ...this.runner.settings },
      storage: { persistent: this.flow.store.persistent, problem: this.storageProblem, savedAt: this.savedAt },
    };
  }

  /** What a stage is built from; read lazily, so that a stage that needs no corpus runs without one. */
  private context(): StageContext {
    const session = this;
    return {
      get model() {
        return session.policy().model;
      },
      get tokenizer() {
        return session.policy().tokenizer;
      },
      get corpus() {
        return session.requireCorpus().tokens;
      },
      prompts: this.prompts,
      get rankings() {
        return session.flow.rankings;
      },
      get demonstrations() {
        return session.flow.demonstrations;
      },
      stageObject: (name) => this.runner.object(name),
      stageState: (name) => this.runner.state(name),
      goldScorer: this.lecture.goldScorer(),
      rankingFlow: {
        applyPending: () => this.flow.applyPending(),
        refillQueue: (stop) => this.flow.refillQueue(this.lecture.settings.k, stop),
        rewardTrained: () => this.flow.rewardTrained(),
        rewardDropped: () => this.flow.rewardDropped(),
      },
    };
  }

  // ---- sampling ----

  async sample(request: T.SampleRequest): Promise<T.SampleView[]> {
    const { model, tokenizer } = this.policy();
    // An empty prompt samples a fresh document: the model sees the end-of-text token that separates documents.
    const prompts = request.prompts ?? new Array<string>(request.count ?? 3).fill('');
    const encoded = prompts.map((p) => (p ? tokenizer.encode(p) : [tokenizer.eosId]).slice(-(model.config.blockSize - 8)));
    const maxNewTokens = Math.min(request.maxNewTokens ?? 64, model.config.blockSize - Math.max(...encoded.map((e) => e.length)));
    const { completions } = await sample(model, encoded, {
      maxNewTokens,
      temperature: request.temperature ?? 1,
      topK: request.topK ?? 0,
      seed: request.seed ?? 1,
      eosId: tokenizer.eosId,
    });
    return prompts.map((prompt, i) => ({ prompt, completion: tokenizer.decode(completions[i]) }));
  }

  // ---- rankings, demonstrations, lecture mode ----

  private flowHost() {
    return {
      policy: () => this.policy(),
      prompts: this.prompts,
      reward: () => {
        const stage = this.runner.object(rewardStage.name) as RewardStage | null;
        return stage ? { stage, training: isActive(this.runner.state(rewardStage.name)) } : null;
      },
      rewardInUse: () => this.runner.usersRunning(rewardStage.name),
      policyIteration: () => this.runner.object(ppoStage.name)?.stepsDone ?? 0,
      policyVersion: () => this.version,
      policyOrigin: () => this.lineage()[0],
      ppoRunning: () => isActive(this.runner.state(ppoStage.name)),
      onRewardUpdate: (update: T.RewardUpdateInfo) => this.emit({ type: 'reward-update', update }),
      onError: (message: string) => this.emit({ type: 'log', level: 'warn', message }),
      samplingSettings: () => {
        const ppo = this.runner.settings[ppoStage.name];
        return { temperature: Number(ppo.temperature), maxNewTokens: Number(ppo.response_length) };
      },
      onCounters: (counters: T.RankingCounters) => this.emit({ type: 'rankings', counters }),
      onRewardMetrics: (point: Omit<T.MetricPoint, 'step'>) => {
        const reward = this.runner.object(rewardStage.name) as RewardStage | null;
        const step = reward ? reward.stepsDone + this.flow.counters().rewardUpdates : 0;
        this.pushMetrics(rewardStage.name, {
          ...point,
          step,
          values: namespaced(rewardStage.metricPrefix ?? rewardStage.name, point.values),
        });
      },
    };
  }

  counters(): T.RankingCounters {
    return this.flow.counters();
  }
  /** Restores stored rankings, demonstrations and runs. */
  async restore(): Promise<void> {
    await Promise.all([this.flow.load(), this.runs.load()]);
  }
  nextRankingTask(k: number): Promise<T.RankingTask> {
    return this.flow.nextTask(k);
  }
  /** A task for a classroom: K fresh completions, not handed to this page's ranking panel. */
  classroomTask(k: number): Promise<T.RankingTask> {
    return this.flow.nextTask(k, false);
  }

  /** A classroom student's ranking (validated again here; a repeated id is ignored): stored, then fed to the reward model. */
  addRanking(ranking: unknown): Promise<boolean> {
    return this.flow.addExternal(ranking);
  }

  skipRankingTask(taskId: string): void {
    return this.flow.skip(taskId);
  }
  submitRanking(taskId: string, order: number[], source: RankingSource = 'user', labelerId?: string): Promise<T.RankingSubmitResult> {
    return this.flow.submit(taskId, order, source, labelerId);
  }
  addDemonstration(instruction: string, response: string): Promise<number> {
    return this.flow.addDemonstration(instruction, response);
  }
  exportRankings(format: 'rankings' | 'pairs'): string {
    return this.flow.export(format);
  }
  importRankings(text: string): Promise<{ added: number; errors: string[]; counters: T.RankingCounters }> {
    return this.flow.import(text);
  }
  clearRankings(): Promise<T.RankingCounters> {
    return this.flow.clear();
  }
  labelers(): T.LabelerInfo[] {
    return this.lecture.labelers();
  }
  /** Lecture mode: the labeler ranks a fresh task every 60/pace seconds, on its own. */
  setLabeler(settings: T.LabelerSettings): void {
    return this.lecture.set(settings);
  }
  labelerTick(): Promise<boolean> {
    return this.lecture.tick();
  }

  // ---- lessons (src/lib/lessons, lessonDesk.ts) ----

  /** The lessons, at the sizes for the current model (or `sizes`). */
  lessons(sizes?: T.LessonSizeName): T.LessonInfo[] {
    return this.desk.list(sizes);
  }
  /** The open lesson, or null. */
  lesson(): T.LessonView | null {
    return this.desk.view();
  }
  /** Opens a lesson afresh, not started: a new run in the history. */
  openLesson(id: string, sizes?: T.LessonSizeName): T.LessonView {
    return this.desk.start(id, sizes);
  }
  /** Runs a lesson (stages pause first) from where it is; opens it afresh if it is not open or has finished. */
  runLesson(id: string, sizes?: T.LessonSizeName): Promise<T.LessonView> {
    return this.desk.run(id, sizes);
  }
  stepLesson(id: string, sizes?: T.LessonSizeName): Promise<T.LessonView> {
    return this.desk.step(id, sizes);
  }
  /** Stops the open lesson after its step in flight. */
  pauseLesson(): Promise<void> {
    return this.desk.pause();
  }

  // ---- run history (src/lib/runs) ----

  private pushMetrics(stage: T.StageName, point: T.MetricPoint): void {
    this.metrics.push(stage, point);
    this.runs.metrics(stage, point);
  }

  /** Every recorded run, oldest first, without points; `live` marks each stage's current run. */
  listRuns(): RunSummary[] {
    return this.runs.list();
  }
  /** One run with its metric series, or null when there is none by that id. */
  getRun(id: string): Promise<RunRecord | null> {
    return this.runs.get(id);
  }
  renameRun(id: string, name: string): Promise<RunSummary> {
    return this.runs.update(id, { name });
  }
  /** Name, colour, hidden: what the runs panel edits. A bad value throws and changes nothing. */
  updateRun(id: string, patch: RunPatch): Promise<RunSummary> {
    return this.runs.update(id, patch);
  }
  deleteRun(id: string): Promise<void> {
    return this.runs.delete(id);
  }
  /** Tags the runs that begin from now on with a lesson (null: none). */
  setRunLesson(lesson: string | null): void {
    this.runs.setLesson(lesson);
  }
  /** Writes the current runs' newest points to the store now (they are written every 2 s anyway). */
  flushRuns(): Promise<void> {
    return this.runs.flush();
  }

  // ---- autosave ----

  private keepPoint(stage: T.StageName, point: T.MetricPoint): void {
    const kept = (this.series[stage] ??= []);
    kept.push(point);
    if (kept.length > MAX_POINTS) this.series[stage] = kept.filter((_, i) => i % 2 === 0 || i === kept.length - 1);
  }

  /** The metric series and samples on show (the UI reads them after a restore). */
  history(): { metrics: Record<T.StageName, T.MetricPoint[]>; samples: Record<T.StageName, { step: number; samples: T.SampleView[] }> } {
    return { metrics: this.series, samples: this.shown };
  }

  private newAutosaver(): Autosaver {
    return new Autosaver(
      () => (this.model && this.tokenizer ? captureAutosave(this.autosaveSource()) : null),
      (record) => idbPut('autosave', AUTOSAVE_KEY, record),
      (record, costMs) => {
        this.savedAt = record.savedAt;
        this.emit({ type: 'saved', savedAt: record.savedAt, costMs });
      },
      (err) =>
        this.emit({
          type: 'log',
          level: 'warn',
          message: `Autosave failed: ${err.message}. Training goes on; download your rankings and checkpoint to keep them.`,
        }),
    );
  }

  private autosaveSource() {
    const stages = this.runner.stages
      .map((d) => ({ name: d.name, stage: this.runner.object(d.name), state: this.runner.state(d.name) }))
      .filter((s) => s.stage !== null)
      .map((s) => ({ name: s.name, state: s.state, step: s.stage!.stepsDone, variables: stageVariables(s.stage!) }));
    return {
      policy: this.model!,
      tokenizer: this.tokenizer!,
      modelSource: this.modelSource,
      corpus: this.corpusSource,
      settings: this.runner.settings,
      stages,
      metrics: this.series,
      samples: this.shown,
    };
  }

  /** Saves now (outside the step path) and resolves once the write is confirmed; the time it took, in ms. */
  async saveNow(): Promise<number> {
    if (!this.autosaver) throw new Error('Autosave is off: this browser gives the playground no storage.');
    await this.autosaver.settled();
    this.autosaver.request(true);
    await this.autosaver.settled();
    if (this.autosaver.lastError) throw new Error(`Autosave failed: ${this.autosaver.lastError.message}.`);
    return this.autosaver.lastCostMs;
  }

  /** The last autosave's cost: capture (one readback) and the whole save, in ms. */
  autosaveCost(): { captureMs: number; totalMs: number } {
    return { captureMs: this.autosaver?.lastCaptureMs ?? 0, totalMs: this.autosaver?.lastCostMs ?? 0 };
  }

  /**
   * Restores the last autosave, if there is one: model, corpus, settings, stages (paused where they were
   * running), reward model, PPO's reference, metric series and samples. Call after restore() (rankings).
   * Returns when it was saved, or null.
   */
  async restoreAutosave(): Promise<{ savedAt: number; skipped: string[] } | null> {
    const record = await idbGet<AutosaveRecord>('autosave', AUTOSAVE_KEY).catch(() => undefined);
    if (!record || record.version !== 1) return null;
    this.restoring = true;
    try {
      if (record.corpus) this.setCorpus(record.corpus);
      const ckpt = decodeCheckpoint(record.policy);
      this.setModel(await probedModelFromCheckpoint(ckpt), ckpt.tokenizer, record.modelSource);
      const skipped = [...this.restoreSettings(record.settings), ...(await this.restoreStages(record))];
      Object.assign(this.series, record.metrics);
      Object.assign(this.shown, record.samples);
      this.savedAt = record.savedAt;
      return { savedAt: record.savedAt, skipped };
    } finally {
      this.restoring = false;
    }
  }

  /**
   * Saved settings go through the same checks as the form's: a value the current ranges refuse (saved by an older
   * version, say) keeps its default and is named. A second pass takes values that depend on one another in any order.
   */
  private restoreSettings(saved: AutosaveRecord['settings']): string[] {
    const refused = new Map<string, string>();
    for (let pass = 0; pass < 2; pass++)
      for (const name of Object.keys(this.runner.settings))
        for (const [key, value] of Object.entries(saved[name] ?? {})) {
          try {
            this.runner.configure(name, { [key]: value });
            refused.delete(`${name}.${key}`);
          } catch (err) {
            refused.set(`${name}.${key}`, `setting ${name}.${key} = ${String(value)} (${(err as Error).message}): its default is kept`);
          }
        }
    return [...refused.values()];
  }

  private async restoreStages(record: AutosaveRecord): Promise<string[]> {
    const skipped: string[] = [];
    for (const d of this.runner.stages) {
      const saved = record.stages[d.name];
      if (!saved || saved.state === 'not-started') continue;
      try {
        this.runner.adopt(d.name, saved.state === 'done' ? 'done' : 'paused', (stage) => {
          if (saved.weights) assignAll(stageVariables(stage), saved.weights);
          (stage as { stepsDone: number }).stepsDone = saved.step;
        });
        if (d.name === rewardStage.name && saved.state === 'done') await this.flow.rewardTrained();
      } catch (err) {
        skipped.push(`${d.title}: ${(err as Error).message}`);
      }
    }
    return skipped;
  }

  /** Starts autosaving (the worker calls it once the session is restored: saving earlier would overwrite the autosave). */
  startAutosave(): void {
    this.autosaver?.arm();
  }

  /** Stops autosaving: the weights' device is gone, and the last good autosave must stay as it is. */
  haltAutosave(): void {
    this.autosaver?.stop();
  }

  /** Forgets the autosave (the next save writes a fresh one). */
  async dropAutosave(): Promise<void> {
    await idbDelete('autosave', AUTOSAVE_KEY);
    this.savedAt = null;
  }

  // ---- checkpoints ----

  async exportCheckpoint(): Promise<Uint8Array> {
    const { model, tokenizer } = this.policy();
    return encodeCheckpoint(await checkpointOf(model, tokenizer, 'policy', new Map(), this.modelSource));
  }

  /** Decodes and checks everything first (the file whole, then a forward pass): a bad file throws and leaves the current model as it was. */
  async importCheckpoint(bytes: Uint8Array, name: string): Promise<T.ModelInfo> {
    const ckpt = decodeCheckpoint(bytes);
    if (ckpt.kind !== 'policy') throw new Error(`Cannot load this checkpoint: it holds a ${ckpt.kind} model, not a policy.`);
    return this.setModel(await probedModelFromCheckpoint(ckpt), ckpt.tokenizer, name);
  }

  /** Resolves with the slot once the write is confirmed; a failure names its cause. */
  async saveToBrowser(slot: string): Promise<string> {
    const bytes = await this.exportCheckpoint();
    await idbPut('checkpoints', slot, bytes).catch((err: Error) => {
      throw new Error(
        `${err.message}. Nothing was saved under "${slot}"; download the checkpoint instead, or delete old saves to free space.`,
      );
    });
    return slot;
  }

  deleteSaved(slot: string): Promise<void> {
    return idbDelete('checkpoints', slot);
  }

  async loadFromBrowser(slot: string): Promise<T.ModelInfo> {
    const bytes = await idbGet<Uint8Array>('checkpoints', slot);
    if (!bytes) throw new Error(`Nothing is saved in the browser under "${slot}".`);
    return this.importCheckpoint(bytes, `browser: ${slot}`);
  }

  listSaved(): Promise<string[]> {
    return idbKeys('checkpoints');
  }
}
