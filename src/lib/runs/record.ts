/**
 * What one run of one stage leaves behind: its settings, seed, model lineage, start and end time and
 * metric series. Plain data (structured-clone safe): stored in IndexedDB, sent to the UI, exported.
 */
import type { SettingValues } from '../settings';
import type { MetricPoint, StageName } from '../types';

/** `interrupted`: the page closed while it was running or paused; `reset`: the stage was undone; `stopped`: a new model or corpus ended it. */
export type RunState = 'running' | 'paused' | 'done' | 'error' | 'reset' | 'stopped' | 'interrupted';

export interface RunRecord {
  id: string;
  /** Editable; `pretrain #2` at first. */
  name: string;
  stage: StageName;
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
  points: MetricPoint[];
}

/** A run without its points, for lists: `pointCount` tells whether a cached copy is stale, `live` whether it is a stage's current run. */
export type RunSummary = Omit<RunRecord, 'points'> & { pointCount: number; steps: number; live: boolean };

/** What the runs panel may change. */
export type RunPatch = Partial<Pick<RunRecord, 'name' | 'color' | 'hidden'>>;

export const RUN_COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];

export function summaryOf(run: RunRecord, live: boolean): RunSummary {
  const { points, ...rest } = run;
  return { ...rest, pointCount: points.length, steps: points.at(-1)?.step ?? 0, live };
}

/** A state that a run still in progress would have; stored like that without being live, it was cut off by a reload. */
export const unfinished = (state: RunState) => state === 'running' || state === 'paused';
