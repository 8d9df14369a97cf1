/**
 * The UI's one way to talk to the engine worker: a comlink proxy plus reactive state that the
 * worker's events keep up to date. Imports only types from the worker side, so no tfjs here.
 */
import * as Comlink from 'comlink';
import type { BackendName, EngineApi, EngineEvent, EngineStatus, MetricPoint, ModelInfo, SampleView, StageName, StageStatus } from '../../workers/api';
import { STAGES } from '../../workers/api';

export const CHECKPOINT_URL = `${import.meta.env.BASE_URL}checkpoints/default.safetensors`;

/** Caps what a chart keeps, so a long run stays light; older points are thinned 2:1. */
const MAX_POINTS = 4000;

function thin(points: MetricPoint[]): MetricPoint[] {
  return points.length <= MAX_POINTS ? points : points.filter((_, i) => i % 2 === 0 || i === points.length - 1);
}

class EngineClient {
  api: Comlink.Remote<EngineApi> | null = null;
  status = $state<EngineStatus | null>(null);
  ready = $state(false);
  error = $state('');
  notice = $state('');
  metrics = $state<Record<StageName, MetricPoint[]>>({ pretrain: [], sft: [], reward: [], ppo: [] });
  samples = $state<Record<StageName, { step: number; samples: SampleView[] }>>({
    pretrain: { step: 0, samples: [] }, sft: { step: 0, samples: [] }, reward: { step: 0, samples: [] }, ppo: { step: 0, samples: [] },
  });
  /** Increments on every metrics event: charts watch it instead of deep-diffing arrays. */
  metricsVersion = $state(0);

  async start(preferredBackend?: BackendName): Promise<void> {
    const worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    worker.addEventListener('error', (e) => (this.error = `The engine worker failed: ${e.message}`));
    this.api = Comlink.wrap<EngineApi>(worker);
    try {
      this.status = await this.api.init({ preferredBackend, checkpointUrl: CHECKPOINT_URL }, Comlink.proxy((e: EngineEvent) => this.onEvent(e)));
      this.ready = true;
    } catch (err) {
      this.error = `The engine could not start: ${(err as Error).message}`;
    }
  }

  private onEvent(e: EngineEvent): void {
    if (!this.status) return;
    switch (e.type) {
      case 'metrics':
        this.metrics[e.stage] = thin([...this.metrics[e.stage], ...e.points]);
        this.metricsVersion++;
        break;
      case 'state':
        this.status.stages[e.stage] = e.status;
        if (e.status.state === 'error' && e.status.message) this.error = e.status.message;
        break;
      case 'samples':
        this.samples[e.stage] = { step: e.step, samples: e.samples };
        break;
      case 'model':
        this.status.model = e.model;
        break;
      case 'log':
        if (e.level === 'info') this.notice = e.message;
        else this.error = e.message;
        break;
    }
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
    try {
      return await action(this.api);
    } catch (err) {
      this.error = (err as Error).message.replace(/^Error: /, '');
      return undefined;
    }
  }

  async refresh(): Promise<void> {
    const status = await this.call((api) => api.status());
    if (status) this.status = status;
  }

  clearMetrics(stage: StageName): void {
    this.metrics[stage] = [];
    this.samples[stage] = { step: 0, samples: [] };
    this.metricsVersion++;
  }
}

export const engine = new EngineClient();
export { STAGES };
