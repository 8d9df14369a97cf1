/**
 * The UI's one way to talk to the engine worker: a comlink proxy plus reactive state that the
 * worker's events keep up to date. Imports only types from the worker side, so no tfjs here. It
 * restarts a dead, hung or GPU-less worker (watchdog.ts) and holds the one-writer lock (engineLock.ts).
 */
import * as Comlink from 'comlink';
import type { EngineApi } from '../../workers/api';
import { holdEngineLock } from './engineLock';
import { Watchdog, type Recovery } from './watchdog';
import { DEFAULT_LABELER_SETTINGS } from '../lib/labelerSettings';
import type {
  BackendName,
  EngineEvent,
  EngineStatus,
  LabelerSettings,
  LineageInfo,
  MetricPoint,
  ModelInfo,
  RankingCounters,
  SampleRequest,
  RewardUpdateInfo,
  SampleView,
  Settings,
  StageInfo,
  StageName,
  StageStatus,
} from '../lib/types';

export const CHECKPOINT_URL = `${import.meta.env.BASE_URL}checkpoints/default.safetensors`;
/** The SFT starting point: the shipped model after a long SFT run (its report, sft.json, lies beside it). */
export const SFT_CHECKPOINT_URL = `${import.meta.env.BASE_URL}checkpoints/sft.safetensors`;
/** The shipped mini model continued on a corpus with the task families' texts (its report, tasks.json, lies beside it). */
export const TASKS_CHECKPOINT_URL = `${import.meta.env.BASE_URL}checkpoints/tasks.safetensors`;

/** Caps what a chart keeps, so a long run stays light; older points are thinned 2:1. */
const MAX_POINTS = 4000;
const NO_SAMPLES = { step: 0, samples: [] as SampleView[] };

function thin(points: MetricPoint[]): MetricPoint[] {
  return points.length <= MAX_POINTS ? points : points.filter((_, i) => i % 2 === 0 || i === points.length - 1);
}

/** A clock time for messages (not state: a plain formatter). */
const timeOf = (ms: number) => new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' }).format(ms);

export class EngineClient {
  api: Comlink.Remote<EngineApi> | null = null;
  status = $state<EngineStatus | null>(null);
  ready = $state(false);
  error = $state('');
  notice = $state('');
  metrics = $state<Record<StageName, MetricPoint[]>>({});
  samples = $state<Record<StageName, { step: number; samples: SampleView[] }>>({});
  /** Increments on every metrics event: charts watch it instead of deep-diffing arrays. */
  metricsVersion = $state(0);
  /** Rankings, pairs, held-out accuracy, reward-model updates, queue and demonstrations; null until the engine reports them. */
  counters = $state<RankingCounters | null>(null);
  /** Lecture mode as the UI last set it (the engine keeps no getter), so it survives switching tabs. */
  labeler = $state<LabelerSettings>({ ...DEFAULT_LABELER_SETTINGS });
  /** Increments on every model event (a new, loaded or retrained policy): a shown ranking task may be stale. */
  modelVersion = $state(0);
  /** The policy's lineage and version, as the last 'lineage' event told (tasks older than `epoch` are stale). */
  lineage = $state<LineageInfo>({ lineage: [], version: 0, epoch: 0 });
  /** The last incremental reward-model update, and its scores of recently ranked tasks (by task id). */
  rewardUpdate = $state<RewardUpdateInfo | null>(null);
  predictions = $state<Record<string, number[]>>({});
  /** Increments whenever the engine confirms the stages' settings (start, a status read, a configure): a refusal shown beside a field is then old news. */
  settingsConfirmed = $state(0);
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, not state: nothing renders from it
  private readonly listeners = new Set<(e: EngineEvent) => void>();

  /** When the session was last autosaved (confirmed), and when it was restored from. */
  savedAt = $state<number | null>(null);
  restoredFrom = $state<number | null>(null);
  /** Another tab holds the engine: this one waits until the user takes over. */
  elsewhere = $state(false);
  /** Faults recovered from: what happened, how long until detected and until restored (ms). */
  recoveries = $state<Recovery[]>([]);
  private watchdog: Watchdog | null = null;
  private preferredBackend?: BackendName;
  private wasmThreads = true;

  /** Starts the engine unless another tab holds it (then `elsewhere` is set and takeOver() starts it here). */
  async start(preferredBackend?: BackendName, wasmThreads = true): Promise<void> {
    this.preferredBackend = preferredBackend;
    this.wasmThreads = wasmThreads;
    const held = await holdEngineLock(false, () => this.lostToAnotherTab());
    if (!held) {
      this.elsewhere = true;
      return;
    }
    await this.boot();
  }

  /** Takes the engine over from another tab, which stops its own. */
  async takeOver(): Promise<void> {
    this.elsewhere = false;
    this.notice = '';
    await holdEngineLock(true, () => this.lostToAnotherTab());
    await this.boot();
  }

  private lostToAnotherTab(): void {
    this.watchdog?.stop();
    this.watchdog = null;
    this.api = null;
    this.ready = false;
    this.elsewhere = true;
    this.notice = 'Another tab took the playground over; this one stopped, so that two engines never write one store.';
  }

  /** A fresh worker: init (which restores the autosave), then the watchdog. Resolves with the init time in ms, or null. */
  private async boot(): Promise<number | null> {
    const began = performance.now();
    const watchdog = new Watchdog((reason) => void this.recover(reason));
    this.watchdog = watchdog;
    this.api = watchdog.api;
    let backend: BackendName;
    try {
      const result = await watchdog.api.init(
        {
          preferredBackend: this.preferredBackend,
          wasmThreads: this.wasmThreads,
          checkpointUrl: CHECKPOINT_URL,
          sftCheckpointUrl: SFT_CHECKPOINT_URL,
          tasksCheckpointUrl: TASKS_CHECKPOINT_URL,
        },
        Comlink.proxy((e: EngineEvent) => watchdog === this.watchdog && this.onEvent(e)),
      );
      this.status = result;
      this.settingsConfirmed++;
      backend = result.backend.name;
      this.restoredFrom = result.restored?.savedAt ?? null;
      this.savedAt = result.storage?.savedAt ?? null;
      if (result.restored?.skipped.length) this.error = `Not everything could be restored: ${result.restored.skipped.join('; ')}.`;
      await this.loadHistory();
      this.ready = true;
    } catch (err) {
      this.error = `The engine could not start: ${(err as Error).message}`;
      return null;
    }
    watchdog.beat(backend);
    await this.loadCounters();
    const lineage = await this.attempt((api) => api.lineageInfo());
    if (lineage.ok) this.lineage = lineage.value;
    return performance.now() - began;
  }

  /** The worker died, hung, or lost its GPU: a new one restores the autosave; the user hears what happened. */
  private async recover(reason: string): Promise<void> {
    const detectedAfterMs = this.watchdog?.silentForMs() ?? 0;
    this.watchdog?.stop();
    this.error = ''; // the raw failure of the call that hit the fault is replaced by the plain account below
    this.notice = `${reason} Starting a new engine and restoring your session…`;
    const restoreMs = await this.boot();
    if (restoreMs === null) return;
    this.modelVersion++; // a task on show came from the old worker: fetch a fresh one
    this.recoveries.push({ reason, detectedAfterMs, restoreMs });
    const from = this.restoredFrom ? ` and restored your session from ${timeOf(this.restoredFrom)}` : '';
    this.notice = `${reason} A new engine started on ${this.status?.backend.name}${from}. Nothing you ranked is lost; a stage that was running is paused.`;
  }

  /** The metric series and samples the worker kept (after a restore they are the autosave's). */
  private async loadHistory(): Promise<void> {
    const got = await this.attempt((api) => api.history());
    if (!got.ok) return;
    this.metrics = { ...got.value.metrics };
    this.samples = { ...got.value.samples };
    this.metricsVersion++;
  }

  /** A stage is training and its latest steps may not be saved yet: leaving now would lose them. */
  get unsavedRun(): boolean {
    return Object.values(this.status?.stages ?? {}).some((s) => s.state === 'running' || s.state === 'pausing');
  }

  /** Test hook (window.playground): end the worker abruptly, as a crash would, without telling the watchdog. */
  debugTerminateWorker(): void {
    this.watchdog?.terminateQuietly();
  }

  /** For the measurements: the longest the engine's thread has been silent (between two heartbeats) while watched, in ms. */
  get longestSilenceMs(): number {
    return this.watchdog?.longestBeatGapMs ?? 0;
  }

  /** Reads the stored rankings' counters (they outlive a reload: IndexedDB). Quiet when the engine cannot tell. */
  async loadCounters(): Promise<void> {
    const got = await this.attempt((api) => api.counters());
    if (got.ok) this.counters = got.value;
  }

  /** The stages in pipeline order, as the engine's registry lists them. */
  get stages(): StageInfo[] {
    return this.status?.stageInfo ?? [];
  }

  points(stage: StageName): MetricPoint[] {
    return this.metrics[stage] ?? [];
  }

  samplesOf(stage: StageName): { step: number; samples: SampleView[] } {
    return this.samples[stage] ?? NO_SAMPLES;
  }

  setSamples(stage: StageName, step: number, samples: SampleView[]): void {
    this.samples[stage] = { step, samples };
  }

  /** Samples the current policy now and shows the result in a stage's sample list. */
  async sampleFor(stage: StageName, request: SampleRequest): Promise<void> {
    const samples = await this.call((api) => api.sample(request));
    if (samples) this.setSamples(stage, this.stage(stage).step, samples);
  }

  /** Another part of the UI hears every engine event too (the runs panel: 'runs'); returns the way to stop. */
  listen(listener: (e: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onEvent(e: EngineEvent): void {
    this.listeners.forEach((listener) => listener(e));
    // the stored rankings are restored (and counted) while init runs, before the status is known
    if (e.type === 'rankings') {
      this.counters = e.counters;
      return;
    }
    if (e.type === 'reward-update') {
      this.onRewardUpdate(e.update);
      return;
    }
    if (!this.status) return;
    switch (e.type) {
      case 'metrics':
        this.metrics[e.stage] = thin([...this.points(e.stage), ...e.points]);
        this.metricsVersion++;
        break;
      case 'state':
        this.status.stages[e.stage] = e.status;
        if (e.status.state === 'error' && e.status.message) this.error = e.status.message;
        break;
      case 'samples':
        this.setSamples(e.stage, e.step, e.samples);
        break;
      case 'model':
        this.status.model = e.model;
        this.lineage = { lineage: e.model.lineage, version: e.model.version, epoch: e.model.version };
        this.modelVersion++;
        break;
      case 'lineage':
        this.lineage = e.lineage;
        if (this.status.model) this.status.model = { ...this.status.model, lineage: e.lineage.lineage, version: e.lineage.version };
        break;
      case 'log':
        if (e.level === 'info') this.notice = e.message;
        else this.error = e.message;
        break;
      case 'saved':
        this.savedAt = e.savedAt;
        break;
      case 'lost':
        void this.recover(e.reason);
        break;
    }
  }

  private onRewardUpdate(update: RewardUpdateInfo): void {
    this.rewardUpdate = update;
    this.counters = update.counters;
    for (const p of update.predicted) this.predictions[p.taskId] = p.scores;
  }

  stage(name: StageName): StageStatus {
    return this.status?.stages[name] ?? { state: 'not-started', step: 0, total: 0 };
  }

  get model(): ModelInfo | null {
    return this.status?.model ?? null;
  }

  /** Runs an engine call; a thrown error becomes the visible message instead of an unhandled rejection. */
  async call<T>(action: (api: Comlink.Remote<EngineApi>) => Promise<T>): Promise<T | undefined> {
    if (!this.api) return undefined;
    this.error = '';
    const result = await this.attempt(action);
    if (result.ok) return result.value;
    this.error = result.error;
    return undefined;
  }

  /** Runs an engine call and hands back its value or its error message, leaving the shared error banner alone (for panels that show their own messages, and background calls). */
  async attempt<T>(action: (api: Comlink.Remote<EngineApi>) => Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
    if (!this.api) return { ok: false, error: 'The engine is not running.' };
    try {
      return { ok: true, value: await action(this.api) };
    } catch (err) {
      return { ok: false, error: String((err as Error)?.message ?? err).replace(/^Error: /, '') };
    }
  }

  /** Re-reads the status; quiet, so that it never wipes the message of the action before it. */
  async refresh(): Promise<void> {
    const result = await this.attempt((api) => api.status());
    if (!result.ok) return;
    this.status = result.value;
    this.settingsConfirmed++;
  }

  /** Changes a stage's settings; the engine's answer (the settings in use) replaces the page's copy, or its refusal comes back. */
  async configure(stage: StageName, changes: Settings): Promise<{ ok: true; value: Settings } | { ok: false; error: string }> {
    const saved = await this.attempt((api) => api.configure(stage, changes));
    if (saved.ok && this.status) {
      this.status.settings[stage] = saved.value;
      this.settingsConfirmed++;
    }
    return saved;
  }

  clearMetrics(stage: StageName): void {
    this.metrics[stage] = [];
    this.samples[stage] = { ...NO_SAMPLES };
    this.metricsVersion++;
  }
}

export const engine = new EngineClient();

// For tests and the console: `playground.api` is the engine, `playground.status`/`metrics`/`counters` what the UI shows.
if (typeof window !== 'undefined') (window as unknown as { playground: EngineClient }).playground = engine;
