/**
 * The playground's session, the facade the worker exposes through comlink (its public methods are the
 * worker API): the model, its tokenizer and the corpus, the stages' controls, and the parts it composes:
 * the stage runner, the policy's lineage, the ranking flow, lecture mode, the lesson desk, the run
 * history and the autosave. It knows the stages only through their descriptors (hosts.ts reads them).
 * DOM-free; Node tests drive it on cpu.
 */
import { mixOfSetting, type TaskMix } from '../data/tasks/mix';
import type { Tokenizer } from '../data/tokenizer';
import { checkpointOf, decodeCheckpoint, encodeCheckpoint, probedModelFromCheckpoint } from '../model/checkpoint';
import type { GPT } from '../model/gpt';
import type { RankingSource } from '../rlhf/rankings';
import type { RunPatch } from '../runs/record';
import { RunRecorder } from '../runs/recorder';
import { defaultRunStore, type RunStore } from '../runs/runStore';
import { stageInfo, type StageDescriptor } from '../stages/descriptor';
import { BUILT_IN_STAGES } from '../stages/registry';
import type * as T from '../types';
import { checkpointMeta, deleteSlot, listSlots, loadSlot, policyCheckpoint, saveSlot } from './checkpoints';
import { ShownHistory } from './history';
import { rankingFlowHost, stageContext, type SessionParts } from './hosts';
import { LectureMode } from './lectureMode';
import { LessonDesk } from './lessonDesk';
import { PolicyLineage } from './lineage';
import { MetricThrottle } from './metricStream';
import { PolicySlot } from './policySlot';
import { mixInUse, PromptPool } from './prompts';
import { RankingFlow } from './rankingFlow';
import { defaultRankingStore, type RankingStore } from './rankingStore';
import { samplePolicy } from './sampling';
import { SessionSave } from './sessionSave';
import { isActive, StageRunner } from './stageRunner';

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

export class Session {
  /** The model, its tokenizer and the corpus. */
  private readonly slot = new PolicySlot();
  /** Prompts for rollouts and ranking tasks, of the task mix in use (prompts.ts). */
  private readonly promptPool = new PromptPool();
  private readonly metrics: MetricThrottle;
  private readonly runner: StageRunner;
  private readonly lineageOf: PolicyLineage;
  private readonly flow: RankingFlow;
  private readonly lecture: LectureMode;
  private readonly runs: RunRecorder;
  private readonly desk: LessonDesk;
  /** The metric series and samples on show, kept here so that the autosave holds them. */
  private readonly shown = new ShownHistory();
  private readonly save: SessionSave;
  /** Stages whose run waits for the reward model's update; a pause meanwhile calls the run off. */
  private readonly runAsked = new Set<T.StageName>();
  private readonly storageProblem: string;

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
      context: () => stageContext(this.parts()),
      onMetrics: (stage, point) => {
        this.shown.keep(stage, point);
        this.pushMetrics(stage, point);
        if (point.kind === 'train') this.save.request();
      },
      onStatus: (stage, status) => {
        this.metrics.flush();
        this.runs.status(stage, status);
        emit({ type: 'state', stage, status });
        if (!isActive(status.state)) this.save.changed();
        // a stage that read the reward model stopped: rankings that arrived since its last boundary go in now
        if (!isActive(status.state)) this.flow.kickRewardUpdates();
        if (status.state === 'done') this.lineageOf.emit(); // "SFT step 6" becomes "SFT"
      },
      onCreate: (stage, settings) => this.runs.created(stage, settings),
      samplePolicy: (step) => this.sample({ count: 3, maxNewTokens: 64, seed: step }),
      emitSamples: (stage, step, samples) => {
        this.shown.show(stage, step, samples);
        emit({ type: 'samples', stage, step, samples });
      },
      onStepped: (stage) => this.lineageOf.stepped(stage),
      onReset: (stage) => this.lineageOf.reset(stage),
      onWarning: (message) => emit({ type: 'log', level: 'warn', message }),
    });
    this.lineageOf = new PolicyLineage(this.runner, {
      source: () => this.slot.source,
      discardTasksBefore: (version) => this.flow.discardTasksBefore(version),
      emit: (lineage) => emit({ type: 'lineage', lineage }),
    });
    this.storageProblem = options.storageProblem ?? '';
    this.save = new SessionSave(
      {
        runner: this.runner,
        history: this.shown,
        slot: this.slot,
        setCorpus: (source) => this.setCorpus(source),
        setModel: (model, tokenizer, source) => this.setModel(model, tokenizer, source),
        context: () => stageContext(this.parts()),
        emit,
      },
      options.autosave ?? false,
    );
    this.flow = new RankingFlow(rankingFlowHost(this.parts()), options.store ?? defaultRankingStore());
    this.lecture = new LectureMode(
      this.flow,
      (message) => emit({ type: 'log', level: 'warn', message }),
      () => this.slot.model !== null,
    );
    this.desk = new LessonDesk({
      policy: () => this.slot.policy(),
      corpus: () => this.slot.corpus?.tokens ?? null,
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

  /** What the stage context and the ranking flow's host read, lazily (hosts.ts). */
  private parts(): SessionParts {
    return {
      runner: this.runner,
      flow: () => this.flow,
      lecture: () => this.lecture,
      policy: () => this.slot.policy(),
      corpus: () => this.slot.requireCorpus().tokens,
      prompts: () => {
        const { model, tokenizer } = this.slot.policy();
        return this.promptPool.of(this.taskMix(), tokenizer, model.config.blockSize);
      },
      version: () => this.lineageOf.version,
      lineage: () => this.lineage(),
      emit: this.emit,
      pushMetrics: (stage, point) => this.pushMetrics(stage, point),
      runWaiting: () => this.runAsked.size > 0,
    };
  }

  // ---- model and corpus (policySlot.ts) ----

  get modelInfo(): T.ModelInfo | null {
    return this.slot.info(this.lineageOf.info());
  }

  /**
   * Where the weights come from, newest first, read from the stages that changed them since the model was
   * set: e.g. ["PPO-ptx iteration 29", "SFT", "shipped mini checkpoint"]. A reset stage drops out.
   */
  lineage = () => this.lineageOf.names();
  /** Where the weights come from, their version, and where the current lineage began. */
  lineageInfo = () => this.lineageOf.info();

  private setModel(model: GPT, tokenizer: Tokenizer, source: string, pretrained?: T.ModelInfo['pretrained']): T.ModelInfo {
    this.desk.close();
    this.runner.stopAll();
    this.slot.replace(model, tokenizer, source, pretrained);
    this.runs.setModel(source);
    this.flow.queue.clear();
    this.lineageOf.newModel();
    const info = this.modelInfo!;
    this.emit({ type: 'model', model: info });
    this.save.changed(); // the lineage: a new or loaded model is the session's now
    return info;
  }

  async loadCheckpointUrl(url: string): Promise<T.ModelInfo> {
    const ckpt = decodeCheckpoint(await this.loadBytes(url));
    const model = await probedModelFromCheckpoint(ckpt);
    const pretrained = await checkpointMeta(this.loadBytes, url);
    return this.setModel(model, ckpt.tokenizer, ckpt.note || 'shipped checkpoint', pretrained);
  }

  /** A fresh model, with a tokenizer trained on the current corpus. */
  newModel(options: T.NewModelOptions): T.ModelInfo {
    const { model, tokenizer } = this.slot.fresh(options);
    return this.setModel(model, tokenizer, `new ${options.preset} model`);
  }

  setCorpus(source: T.CorpusSource): T.CorpusInfo {
    this.desk.close();
    this.runner.stopAll();
    this.runs.stopAll();
    return this.slot.setCorpus(source);
  }

  // ---- stages ----

  /**
   * Changes a stage's settings and saves them at once: a worker that dies before the next step must not take them along.
   * A new task mix drops the queued tasks of the families it leaves out.
   */
  configure(stage: T.StageName, changes: T.Settings): T.Settings {
    const mix = this.taskMix();
    const settings = this.runner.configure(stage, changes);
    if (this.taskMix() !== mix) this.dropTasksOutside(mixOfSetting(this.taskMix()));
    this.save.changed();
    return settings;
  }
  private taskMix = () => mixInUse(this.runner.stages, this.runner.settings);
  private dropTasksOutside(mix: TaskMix): void {
    this.flow.queue.dropWhere((t) => t.family != null && mix[t.family] === 0);
    this.flow.emitCounters();
  }
  /**
   * Starts a stage once no reward-model update is in flight (stages read or train the reward model): one under way
   * stops at its next part for it, its rankings waiting for the next.
   */
  async run(stage: T.StageName): Promise<void> {
    this.runAsked.add(stage);
    await this.flow.rewardUpdated();
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
    await this.runner.reset(stage, this.slot.policy().model);
    this.shown.clear(stage);
    this.save.request(true);
  }
  /** Resolves once the rankings submitted so far have reached the reward model (when it is free to learn them). */
  rewardSettled(): Promise<void> {
    return this.flow.rewardSettled();
  }

  status(): T.EngineStatus {
    const names = this.runner.stages.map((d) => d.name);
    return {
      backend: this.backend,
      stageInfo: this.runner.stages.map(stageInfo),
      model: this.modelInfo,
      corpus: this.slot.corpus?.info ?? null,
      stages: Object.fromEntries(names.map((s) => [s, this.runner.status(s)])),
      settings: { ...this.runner.settings },
      storage: { persistent: this.flow.store.persistent, problem: this.storageProblem, savedAt: this.save.savedAt },
    };
  }

  sample(request: T.SampleRequest): Promise<T.SampleView[]> {
    const { model, tokenizer } = this.slot.policy();
    return samplePolicy(model, tokenizer, request);
  }

  // ---- rankings, demonstrations, lecture mode: forwarded to the ranking flow (rankingFlow.ts) and lectureMode.ts ----

  counters = () => this.flow.counters();
  /** Restores stored rankings, demonstrations and runs. */
  async restore(): Promise<void> {
    await Promise.all([this.flow.load(), this.runs.load()]);
  }
  nextRankingTask = (k: number) => this.flow.nextTask(k);
  /** A task for a classroom: K fresh completions, not handed to this page's ranking panel. */
  classroomTask = (k: number) => this.flow.nextTask(k, false);
  /** A classroom student's ranking (validated again here; a repeated id is ignored): stored, then fed to the stages that take rankings. */
  addRanking = (ranking: unknown) => this.flow.addExternal(ranking);
  skipRankingTask = (taskId: string) => this.flow.skip(taskId);
  submitRanking = (taskId: string, order: number[], source: RankingSource = 'user', labelerId?: string) =>
    this.flow.submit(taskId, order, source, labelerId);
  addDemonstration = (instruction: string, response: string) => this.flow.addDemonstration(instruction, response);
  exportRankings = (format: 'rankings' | 'pairs') => this.flow.export(format);
  importRankings = (text: string) => this.flow.import(text);
  clearRankings = () => this.flow.clear();
  labelers = () => this.lecture.labelers();
  /** Lecture mode: the labeler ranks a fresh task every 60/pace seconds, on its own. */
  setLabeler = (settings: T.LabelerSettings) => this.lecture.set(settings);
  labelerTick = () => this.lecture.tick();

  // ---- lessons (src/lib/lessons): forwarded to lessonDesk.ts ----

  /** The lessons, at the sizes for the current model (or `sizes`). */
  lessons = (sizes?: T.LessonSizeName) => this.desk.list(sizes);
  /** The open lesson, or null. */
  lesson = () => this.desk.view();
  /** Opens a lesson afresh, not started: a new run in the history. */
  openLesson = (id: string, sizes?: T.LessonSizeName) => this.desk.start(id, sizes);
  /** Runs a lesson (stages pause first) from where it is; opens it afresh if it is not open or has finished. */
  runLesson = (id: string, sizes?: T.LessonSizeName) => this.desk.run(id, sizes);
  stepLesson = (id: string, sizes?: T.LessonSizeName) => this.desk.step(id, sizes);
  /** Stops the open lesson after its step in flight. */
  pauseLesson = () => this.desk.pause();

  // ---- run history (src/lib/runs): forwarded to the run recorder ----

  private pushMetrics(stage: T.StageName, point: T.MetricPoint): void {
    this.metrics.push(stage, point);
    this.runs.metrics(stage, point);
  }

  /** Every recorded run, oldest first, without points; `live` marks each stage's current run. */
  listRuns = () => this.runs.list();
  /** One run with its metric series, or null when there is none by that id. */
  getRun = (id: string) => this.runs.get(id);
  renameRun = (id: string, name: string) => this.runs.update(id, { name });
  /** Name, colour, hidden: what the runs panel edits. A bad value throws and changes nothing. */
  updateRun = (id: string, patch: RunPatch) => this.runs.update(id, patch);
  deleteRun = (id: string) => this.runs.delete(id);
  /** Tags the runs that begin from now on with a lesson (null: none). */
  setRunLesson = (lesson: string | null) => this.runs.setLesson(lesson);
  /** Writes the current runs' newest points to the store now (they are written every 2 s anyway). */
  flushRuns = () => this.runs.flush();

  // ---- autosave (sessionSave.ts) ----

  /** The metric series and samples on show (the UI reads them after a restore). */
  history(): Pick<ShownHistory, 'metrics' | 'samples'> {
    return { metrics: this.shown.metrics, samples: this.shown.samples };
  }
  /** Saves now (outside the step path) and resolves once the write is confirmed; the time it took, in ms. */
  saveNow = () => this.save.saveNow();
  /** The last autosave's cost: capture (one readback) and the whole save, in ms. */
  autosaveCost = () => this.save.cost();
  /**
   * Restores the last autosave, if there is one: model, corpus, settings, stages (paused where they were
   * running) with the models their descriptors keep, metric series and samples. Call after restore() (rankings).
   * Returns when it was saved, or null.
   */
  restoreAutosave = () => this.save.restore();
  /** Starts autosaving (the worker calls it once the session is restored: saving earlier would overwrite the autosave). */
  startAutosave = () => this.save.start();
  /** Stops autosaving: the weights' device is gone, and the last good autosave must stay as it is. */
  haltAutosave = () => this.save.halt();
  /** Forgets the autosave (the next save writes a fresh one). */
  dropAutosave = () => this.save.drop();

  // ---- checkpoints (checkpoints.ts) ----

  async exportCheckpoint(): Promise<Uint8Array> {
    const { model, tokenizer } = this.slot.policy();
    return encodeCheckpoint(await checkpointOf(model, tokenizer, 'policy', new Map(), this.slot.source));
  }

  /** Decodes and checks everything first (the file whole, then a forward pass): a bad file throws and leaves the current model as it was. */
  async importCheckpoint(bytes: Uint8Array, name: string): Promise<T.ModelInfo> {
    const ckpt = policyCheckpoint(bytes);
    return this.setModel(await probedModelFromCheckpoint(ckpt), ckpt.tokenizer, name);
  }

  /** Why a file would be refused as a policy checkpoint, in words, or null: the load's whole-file check, changing nothing (the UI asks before a reset only for a file that passes). */
  checkCheckpoint(bytes: Uint8Array): string | null {
    try {
      policyCheckpoint(bytes);
      return null;
    } catch (err) {
      return (err as Error).message;
    }
  }

  /** Resolves with the slot once the write is confirmed; a failure names its cause. */
  async saveToBrowser(slot: string): Promise<string> {
    return saveSlot(slot, await this.exportCheckpoint());
  }
  deleteSaved = (slot: string) => deleteSlot(slot);
  async loadFromBrowser(slot: string): Promise<T.ModelInfo> {
    return this.importCheckpoint(await loadSlot(slot), `browser: ${slot}`);
  }
  listSaved = () => listSlots();
}
