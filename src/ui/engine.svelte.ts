/**
 * The UI's one way to talk to the engine worker: a comlink proxy plus reactive state that the
 * worker's events keep up to date. Imports only types from the worker side, so no tfjs here.
 */
import * as Comlink from 'comlink';
import type { EngineApi } from '../../workers/api';
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
  RewardUpdateInfo,
  SampleView,
  StageInfo,
  StageName,
  StageStatus,
} from '../lib/types';

export const CHECKPOINT_URL = `${import.meta.env.BASE_URL}checkpoints/default.safetensors`;

/** Caps what a chart keeps, so a long run stays light; older points are thinned 2:1. */
const MAX_POINTS = 4000;
const NO_SAMPLES = { step: 0, samples: [] as SampleView[] };

function thin(points: MetricPoint[]): MetricPoint[] {
  return points.length <= MAX_POINTS ? points : points.filter((_, i) => i % 2 === 0 || i === points.length - 1);
}

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

  async start(preferredBackend?: BackendName): Promise<void> {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- Vite's worker import form, not state
    const worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    worker.addEventListener('error', (e) => (this.error = `The engine worker failed: ${e.message}`));
    this.api = Comlink.wrap<EngineApi>(worker);
    try {
      this.status = await this.api.init(
        { preferredBackend, checkpointUrl: CHECKPOINT_URL },
        Comlink.proxy((e: EngineEvent) => this.onEvent(e)),
      );
      this.ready = true;
    } catch (err) {
      this.error = `The engine could not start: ${(err as Error).message}`;
      return;
    }
    await this.loadCounters();
    const lineage = await this.attempt((api) => api.lineageInfo());
    if (lineage.ok) this.lineage = lineage.value;
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

  onEvent(e: EngineEvent): void {
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
    if (result.ok) this.status = result.value;
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
