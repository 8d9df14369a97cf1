/**
 * A run as files: JSON (the whole record, non-finite numbers as strings since JSON has none) and CSV
 * (a step column, then one column per metric in the order they first appear; a train and an eval
 * point of the same step share a row; an empty cell where a metric has no value at that step).
 */
import type { RunRecord } from './record';

export const RUN_FORMAT = 'rlhf-playground-run';

export function runToJson(run: RunRecord): string {
  const numbers = (_key: string, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value);
  return JSON.stringify({ format: RUN_FORMAT, version: 1, ...run }, numbers, 2);
}

function csvField(text: string): string {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function runToCsv(run: Pick<RunRecord, 'points'>): string {
  const keys = [...new Set(run.points.flatMap((p) => Object.keys(p.values)))];
  const rows = new Map<number, Record<string, number>>();
  for (const p of run.points) rows.set(p.step, { ...rows.get(p.step), ...p.values });
  const steps = [...rows.keys()].sort((a, b) => a - b);
  const lines = [['step', ...keys].map(csvField).join(',')];
  for (const step of steps) {
    const values = rows.get(step)!;
    lines.push([String(step), ...keys.map((k) => (values[k] === undefined ? '' : String(values[k])))].join(','));
  }
  return lines.join('\n') + '\n';
}

/** A file name from the run's name: letters, digits, dots, dashes and underscores only. */
export function runFileName(run: Pick<RunRecord, 'name'>, extension: string): string {
  const base = run.name.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '') || 'run';
  return `${base}.${extension}`;
}
