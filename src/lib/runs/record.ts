/**
 * What one run leaves behind, for the whole app: a run of a stage in the session, or one run of a lesson.
 * Its settings, seed, model lineage, start and end time, progress and metric points (and a lesson run's
 * sample sets). Plain data (structured-clone safe): stored in IndexedDB, sent to the UI, exported.
 * A leaf: it imports no domain module, so types.ts and the lessons can both import it.
 */
import type { SettingValues } from '../settings';

/** One point of a run's metrics: after `step` steps (0: before the first), a training step's or an evaluation's values. */
export interface MetricPoint {
  step: number;
  kind: 'train' | 'eval';
  values: Record<string, number>;
}

/** Completions a lesson run keeps to show, e.g. those at its gold peak beside those at its end. */
export interface SampleSet {
  /** e.g. 'highest gold (iteration 12)' or 'latest (iteration 40)'. */
  label: string;
  step: number;
  items: { prompt: string; response: string; gold: number; proxy?: number; /** Shown instead of the gold score. */ badge?: string }[];
}

/** `interrupted`: the page closed while it was running or paused; `reset`: the stage was undone; `stopped`: a new model or corpus ended it. */
export type RunState = 'running' | 'paused' | 'done' | 'error' | 'reset' | 'stopped' | 'interrupted';

export interface RunRecord {
  id: string;
  /** Editable; `pretrain #2` at first (a lesson run: its label, `PPO, beta = 0`). */
  name: string;
  /** The stage's name (StageName in types.ts): `ppo`, or `lesson:<id>` for a lesson recorded in the run history. */
  stage: string;
  /** The stage's settings when it was created (its seed among them). */
  settings: SettingValues;
  seed: number | null;
  /** Where the weights came from: the model's source first, then the stages run on it before this one (`sft:run-id`). */
  lineage: string[];
  /** The lesson that started it, if any. */
  lesson?: string;
  /** CSS colour of its lines. */
  color: string;
  /** Hidden runs are not overlaid on the charts. */
  hidden: boolean;
  state: RunState;
  message?: string;
  startedAt: number;
  endedAt: number | null;
  /** Steps planned (0 while unknown) and done. */
  totalSteps: number;
  stepsDone: number;
  points: MetricPoint[];
  /** Seconds spent in the run's steps where they are timed (a lesson's run), else 0. */
  seconds: number;
  /** Sample sets a lesson's run keeps (none for a stage's). */
  samples: SampleSet[];
}

/** A run without its points, for lists: `pointCount` tells whether a cached copy is stale, `live` whether it is a stage's current run. */
export type RunSummary = Omit<RunRecord, 'points' | 'samples'> & { pointCount: number; steps: number; live: boolean };

/** What the runs panel may change. */
export type RunPatch = Partial<Pick<RunRecord, 'name' | 'color' | 'hidden'>>;

export const RUN_COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

export function summaryOf(run: RunRecord, live: boolean): RunSummary {
  const { points, samples: _samples, ...rest } = run;
  return { ...rest, pointCount: points.length, steps: points.at(-1)?.step ?? 0, live };
}

/** A state that a run still in progress would have; stored like that without being live, it was cut off by a reload. */
export const unfinished = (state: RunState) => state === 'running' || state === 'paused';

/** (step, value) of every `kind` point (any kind when omitted) of `record` that has `metric`. */
export function seriesOf(
  record: Pick<RunRecord, 'points'> | undefined,
  metric: string,
  kind?: MetricPoint['kind'],
): { steps: number[]; values: number[] } {
  const points = (record?.points ?? []).filter((p) => (!kind || p.kind === kind) && Number.isFinite(p.values[metric]));
  return { steps: points.map((p) => p.step), values: points.map((p) => p.values[metric]) };
}
