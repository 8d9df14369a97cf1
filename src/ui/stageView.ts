/** Pure helpers that turn a stage's metric points into what its panel shows (no Svelte, no tfjs). */
import type { MetricPoint, ModelInfo, StageInfo, StageStatus, StatSpec } from '../lib/types';

/** The last point that carries `key` (of the given kind), if any. */
export function lastWith(points: readonly MetricPoint[], key: string, kind?: 'train' | 'eval'): MetricPoint | undefined {
  return points.findLast((p) => (!kind || p.kind === kind) && p.values[key] !== undefined);
}

export function hasMetric(points: readonly MetricPoint[], keys: readonly string[]): boolean {
  return points.some((p) => keys.some((k) => Number.isFinite(p.values[k])));
}

export function formatStat(value: number | undefined, format: StatSpec['format'] = 'fixed3'): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  if (format === 'percent') return `${(100 * value).toFixed(1)}%`;
  if (format === 'integer') return Math.round(value).toLocaleString();
  return value.toFixed(format === 'fixed4' ? 4 : 3);
}

/** Names of metrics that were ever NaN or infinite: a run gone wrong shows (and tests read it). */
export function nonFiniteMetrics(points: readonly MetricPoint[]): string[] {
  return [
    ...new Set(
      points.flatMap((p) =>
        Object.entries(p.values)
          .filter(([, x]) => !Number.isFinite(x))
          .map(([k]) => k),
      ),
    ),
  ];
}

/** A share as a percentage, or a dash. */
export function pct(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`;
}

/**
 * A stage the shipped checkpoint has done already (pretraining: `doneWhenShipped`), while it has not been run here:
 * e.g. "done: shipped checkpoint (val loss 0.565)"; null otherwise.
 */
export function shippedDone(info: StageInfo, state: string, model: ModelInfo | null): string | null {
  if (!info.doneWhenShipped || state !== 'not-started' || !model?.pretrained) return null;
  return `done: shipped checkpoint (val loss ${model.pretrained.valLoss.toFixed(3)})`;
}

/** The stage whose policy writes the ranking tasks (`writesTasks`): one running, else one started; as the session picks it. */
export function taskWriter(stages: readonly StageInfo[], status: (name: string) => StageStatus): StageInfo | undefined {
  const writers = stages.filter((s) => s.writesTasks && status(s.name).state !== 'not-started');
  return writers.find((s) => ['running', 'pausing'].includes(status(s.name).state)) ?? writers[0];
}

/**
 * A stage's steps against its plan: "12 / 64"; after steps beyond the plan (the reward model's incremental updates on
 * new rankings), "64 / 64 + 40 in updates", so that the sum is the step its charts have reached.
 */
export function stepCounter(status: StageStatus): string {
  const planned = `${status.step} / ${status.total}`;
  return status.extraSteps ? `${planned} + ${status.extraSteps} in updates` : planned;
}

/** One sample's KL badge: the k3 estimate, never negative (src/lib/rlhf/kl.ts). */
export const klBadge = (k3: number): string => `KL k3 ${k3.toFixed(2)}`;

/** What that badge counts, for its tooltip. */
export const KL_BADGE_TITLE =
  "KL(policy ‖ SFT) of this response: the k3 estimate, (r − 1) − log r with r = π_SFT / π at each token, summed over the response's tokens; never negative. " +
  'The KL chart shows objective/kl, the mean over rollouts of the KL estimator setting (k1 = log π − log π_SFT by default), ' +
  'which a single sample can push below zero.';
