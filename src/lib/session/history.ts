/** The metric series and samples on show, kept in the session so that the autosave holds them and a restored UI reads them. */
import type { MetricPoint, SampleView, StageName } from '../types';

/** Caps a kept metric series as the UI caps a chart: older points thinned 2:1. */
const MAX_POINTS = 4000;

export class ShownHistory {
  readonly metrics: Record<StageName, MetricPoint[]> = {};
  readonly samples: Record<StageName, { step: number; samples: SampleView[] }> = {};

  keep(stage: StageName, point: MetricPoint): void {
    const kept = (this.metrics[stage] ??= []);
    kept.push(point);
    if (kept.length > MAX_POINTS) this.metrics[stage] = kept.filter((_, i) => i % 2 === 0 || i === kept.length - 1);
  }

  show(stage: StageName, step: number, samples: SampleView[]): void {
    this.samples[stage] = { step, samples };
  }

  /** A reset stage shows nothing. */
  clear(stage: StageName): void {
    this.metrics[stage] = [];
    delete this.samples[stage];
  }

  restore(saved: Pick<ShownHistory, 'metrics' | 'samples'>): void {
    Object.assign(this.metrics, saved.metrics);
    Object.assign(this.samples, saved.samples);
  }
}
