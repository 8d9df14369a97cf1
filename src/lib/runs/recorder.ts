/**
 * Records every run of every stage: the stage runner tells it when a stage is created, each metric
 * point, each state change and a reset; it keeps each stage's current run in memory, writes it to
 * the run store every `flushMs` and when it stops, and serves the list, a run, rename and delete.
 * Worker-side, so a run is recorded whole whether or not a page is listening, and outlives reloads.
 */
import type { SettingValues } from '../settings';
import type { MetricPoint, StageName, StageStatus } from '../types';
import { RUN_COLORS, summaryOf, unfinished, type RunPatch, type RunRecord, type RunState, type RunSummary } from './record';
import type { RunStore } from './runStore';

/** Points kept per run; beyond it every other older point goes (as the UI's charts do). */
const MAX_POINTS = 20_000;

export interface RecorderOptions {
  store: RunStore;
  /** Hears the whole list (without points) after every change that a runs panel shows. */
  onChange(runs: RunSummary[]): void;
  now?: () => number;
  flushMs?: number;
  /** Overrides the lineage the recorder works out (model source + the other stages' current runs). */
  lineage?: (stage: StageName) => string[];
}

export class RunRecorder {
  private readonly current = new Map<StageName, RunRecord>();
  private readonly past = new Map<string, RunSummary>();
  private readonly dirty = new Set<RunRecord>();
  private modelSource = '';
  private lesson: string | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Store writes in order, so a delete never races a flush of the same run. */
  private queue: Promise<void> = Promise.resolve();
  private serial = 0;

  constructor(private readonly options: RecorderOptions) {}

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Reads the stored runs; one left running or paused by a closed page is marked interrupted. */
  async load(): Promise<void> {
    for (const run of await this.options.store.all()) {
      if (unfinished(run.state)) {
        run.state = 'interrupted';
        this.write(run);
      }
      this.past.set(run.id, summaryOf(run, false));
    }
    this.changed();
  }

  /** A new model: its stages are gone, and new runs start a new lineage. */
  setModel(source: string): void {
    this.stopAll();
    this.modelSource = source;
  }

  /** The lesson that the next runs belong to (null: none). */
  setLesson(lesson: string | null): void {
    this.lesson = lesson;
  }

  /** A new run of `stage` begins (its previous run retires), tagged with `lesson` (default: the one set). */
  created(stage: StageName, settings: SettingValues, lesson: string | null = this.lesson): RunRecord {
    const previous = this.current.get(stage);
    if (previous) this.retire(previous, unfinished(previous.state) ? 'stopped' : previous.state);
    const n = this.list().filter((r) => r.stage === stage).length + 1;
    const run: RunRecord = {
      id: `${stage}-${this.now().toString(36)}-${(this.serial++).toString(36)}`,
      name: `${stage} #${n}`,
      stage,
      settings: { ...settings },
      seed: typeof settings.seed === 'number' ? settings.seed : null,
      lineage: this.options.lineage?.(stage) ?? this.lineage(stage),
      ...(lesson ? { lesson } : {}),
      color: this.freeColor(),
      hidden: false,
      state: 'paused',
      startedAt: this.now(),
      endedAt: null,
      totalSteps: 0,
      stepsDone: 0,
      points: [],
      seconds: 0,
      samples: [],
    };
    this.current.set(stage, run);
    this.changed();
    return run;
  }

  metrics(stage: StageName, point: MetricPoint): void {
    const run = this.current.get(stage);
    if (!run) return;
    run.points.push(point);
    if (run.points.length > MAX_POINTS) run.points = run.points.filter((_, i) => i % 2 === 0 || i === run.points.length - 1);
    this.dirty.add(run);
    this.timer ??= setTimeout(() => void this.flush(), this.options.flushMs ?? 2000);
  }

  /** The runner's state events; `not-started` after a stage existed means it was reset. */
  status(stage: StageName, status: StageStatus): void {
    const run = this.current.get(stage);
    if (!run) return;
    if (status.state === 'not-started') return this.retire(run, 'reset');
    if (status.state === 'pausing') return; // still running until the pause takes effect
    run.state = status.state;
    run.message = status.message;
    run.stepsDone = status.step;
    run.totalSteps = status.total;
    if (status.state === 'done' || status.state === 'error') run.endedAt = this.now();
    if (status.state !== 'running') this.write(run);
    this.changed();
  }

  /** One stage's current run ends where it is (it is no longer the stage's run: another lesson opened). */
  stop(stage: StageName): void {
    const run = this.current.get(stage);
    if (run) this.retire(run, unfinished(run.state) ? 'stopped' : run.state);
  }

  /** Every stage dropped at once (a new model or corpus). */
  stopAll(): void {
    for (const run of [...this.current.values()]) this.retire(run, unfinished(run.state) ? 'stopped' : run.state);
  }

  list(): RunSummary[] {
    const live = [...this.current.values()].map((r) => summaryOf(r, true));
    return [...this.past.values(), ...live].sort((a, b) => a.startedAt - b.startedAt);
  }

  /** The current run of a stage, if it has one. */
  currentOf(stage: StageName): RunSummary | null {
    const run = this.current.get(stage);
    return run ? summaryOf(run, true) : null;
  }

  async get(id: string): Promise<RunRecord | null> {
    const live = this.liveRun(id);
    if (live) return { ...live, points: [...live.points] };
    await this.queue;
    return (await this.options.store.get(id)) ?? null;
  }

  async update(id: string, patch: RunPatch): Promise<RunSummary> {
    const problem = patchError(patch);
    if (problem) throw new Error(problem);
    const clean = { ...patch, ...(patch.name !== undefined ? { name: patch.name.trim() } : {}) };
    const run = this.liveRun(id) ?? (await this.get(id));
    if (!run) throw new Error('There is no such run (deleted?).');
    Object.assign(run, clean);
    this.write(run);
    const live = this.liveRun(id) !== null;
    if (!live) this.past.set(id, summaryOf(run, false));
    this.changed();
    await this.queue;
    return summaryOf(run, live);
  }

  /** Forgets a run; the stage's current run is only detached: the stage goes on, unrecorded, until it runs anew. */
  async delete(id: string): Promise<void> {
    const live = this.liveRun(id);
    if (live) {
      this.current.delete(live.stage);
      this.dirty.delete(live);
    }
    this.past.delete(id);
    this.enqueue(() => this.options.store.delete(id));
    this.changed();
    await this.queue;
  }

  /** Writes the current runs that gained points; resolves when the store has them. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    // no list event here: a live run's steps are the stage's own progress, and the page need not redraw every 2 s
    [...this.dirty].forEach((r) => this.write(r));
    await this.queue;
  }

  private lineage(stage: StageName): string[] {
    const before = [...this.current.values()].filter((r) => r.stage !== stage && r.points.length > 0);
    return [this.modelSource, ...before.sort((a, b) => a.startedAt - b.startedAt).map((r) => `${r.stage}:${r.id}`)];
  }

  /** The palette's least-used colour, the earliest among equals: runs side by side get different colours. */
  private freeColor(): string {
    const used = this.list().map((r) => r.color);
    const uses = (c: string) => used.filter((u) => u === c).length;
    return RUN_COLORS.reduce((best, c) => (uses(c) < uses(best) ? c : best));
  }

  private liveRun(id: string): RunRecord | null {
    return [...this.current.values()].find((r) => r.id === id) ?? null;
  }

  /** A run stops being current: kept when it has points, dropped when it never got one. */
  private retire(run: RunRecord, state: RunState): void {
    this.current.delete(run.stage);
    run.state = state;
    run.endedAt ??= this.now();
    if (run.points.length === 0) {
      this.dirty.delete(run);
      this.past.delete(run.id);
      this.enqueue(() => this.options.store.delete(run.id));
    } else {
      this.write(run);
      this.past.set(run.id, summaryOf(run, false));
    }
    this.changed();
  }

  private write(run: RunRecord): void {
    this.dirty.delete(run);
    const copy = structuredClone(run);
    this.enqueue(() => this.options.store.put(copy));
  }

  private enqueue(op: () => Promise<void>): void {
    this.queue = this.queue.then(op).catch(() => {
      // storage full or blocked: the run stays in memory; the next write tries again
    });
  }

  private changed(): void {
    this.options.onChange(this.list());
  }
}

function patchError(patch: RunPatch): string | null {
  if (patch.name !== undefined && (typeof patch.name !== 'string' || !patch.name.trim() || patch.name.length > 80))
    return 'A run name must be 1 to 80 characters.';
  if (patch.color !== undefined && !/^#[0-9a-f]{6}$/i.test(String(patch.color))) return 'A run colour must look like #2563eb.';
  if (patch.hidden !== undefined && typeof patch.hidden !== 'boolean') return 'Hidden must be true or false.';
  return null;
}
