/**
 * The UI's copy of the run history: the list the worker sends in 'runs' events, the points of the
 * runs shown on the charts (fetched once per run and kept while unchanged), and the overlays a
 * stage's charts draw: its other visible runs, each labelled by how its settings differ.
 */
import { differenceLabels } from '../../lib/runs/differences';
import type { RunPatch, RunRecord, RunSummary } from '../../lib/runs/record';
import type { MetricPoint, StageName } from '../../lib/types';
import { engine } from '../engine.svelte';

/** Another run's lines on a chart: dashed, in the run's colour. */
export interface OverlayRun {
  id: string;
  label: string;
  color: string;
  points: MetricPoint[];
}

export class RunsClient {
  list = $state<RunSummary[]>([]);
  private cached = $state<Record<string, { count: number; points: MetricPoint[] }>>({});
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping, not state: nothing renders from it
  private readonly fetching = new Set<string>();

  constructor() {
    engine.listen((e) => {
      if (e.type === 'runs') this.set(e.runs);
    });
  }

  set(runs: RunSummary[]): void {
    this.list = runs;
    void this.fetchShown();
  }

  /** Reads the list again (the events keep it current; this is for a panel that opens later). */
  async load(): Promise<void> {
    const got = await engine.attempt((api) => api.listRuns());
    if (got.ok) this.set(got.value);
  }

  ofStage(stage: StageName): RunSummary[] {
    return this.list.filter((r) => r.stage === stage);
  }

  liveOf(stage: StageName): RunSummary | null {
    return this.list.find((r) => r.stage === stage && r.live) ?? null;
  }

  /** Labels from the settings that differ between `among` (a stage's runs), keyed by run id; settings named by their labels. */
  labels(stage: StageName, among: RunSummary[] = this.ofStage(stage)): Record<string, string> {
    const specs = engine.stages.find((s) => s.name === stage)?.settings ?? [];
    return differenceLabels(among, Object.fromEntries(specs.map((s) => [s.key, s.label])));
  }

  /** The runs a stage's charts draw: the live one and the others not hidden. */
  shown(stage: StageName): RunSummary[] {
    return this.ofStage(stage).filter((r) => r.live || (!r.hidden && this.cached[r.id]));
  }

  /** The stage's other runs to draw beside the live one: not hidden, points at hand. */
  overlays(stage: StageName): OverlayRun[] {
    const labels = this.labels(stage, this.shown(stage));
    return this.shown(stage)
      .filter((r) => !r.live)
      .map((r) => ({ id: r.id, label: labels[r.id], color: r.color, points: this.cached[r.id].points }));
  }

  async get(id: string): Promise<RunRecord | null> {
    const got = await engine.attempt((api) => api.getRun(id));
    return got.ok ? got.value : null;
  }

  update(id: string, patch: RunPatch): Promise<{ ok: true; value: RunSummary } | { ok: false; error: string }> {
    return engine.attempt((api) => api.updateRun(id, patch));
  }

  remove(id: string): Promise<{ ok: true; value: void } | { ok: false; error: string }> {
    return engine.attempt((api) => api.deleteRun(id));
  }

  /** Fetches the points of every shown run that is not live and not cached at its current length. */
  private async fetchShown(): Promise<void> {
    const stale = this.list.filter((r) => !r.live && !r.hidden && this.cached[r.id]?.count !== r.pointCount && !this.fetching.has(r.id));
    for (const r of stale) {
      this.fetching.add(r.id);
      const record = await this.get(r.id);
      this.fetching.delete(r.id);
      if (record) this.cached[r.id] = { count: record.points.length, points: record.points };
    }
  }
}

export const runs = new RunsClient();
