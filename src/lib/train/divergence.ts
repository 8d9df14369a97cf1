/**
 * Divergence: a training loss that has risen far above where it started, judged the same way for every stage
 * (the stage runner feeds each step's loss to a watch), and the notice that says so, with the figures and a
 * learning rate to try.
 */
import type { SettingSpec, SettingValues } from '../settings';

/** Steps averaged for where the loss stands now: one noisy batch alone flags nothing. */
export const RECENT_STEPS = 5;
/** Diverged: the recent loss is at least this many times the first one… */
export const DIVERGED_RATIO = 2;
/** …and at least this many nats above it. */
export const DIVERGED_RISE = 0.5;

export interface Divergence {
  /** The loss of the first step (on the weights the stage began with). */
  from: number;
  /** The mean loss of the last RECENT_STEPS steps. */
  to: number;
}

export class DivergenceWatch {
  private first: number | null = null;
  private readonly recent: number[] = [];

  /** One step's training loss (a value that is not finite is the loop's to stop on, not a trend). */
  add(loss: number | undefined): void {
    if (loss === undefined || !Number.isFinite(loss)) return;
    this.first ??= loss;
    this.recent.push(loss);
    if (this.recent.length > RECENT_STEPS) this.recent.shift();
  }

  /** Where the loss began and stands, when it has risen far above its start; else null. */
  verdict(): Divergence | null {
    if (this.first === null || this.recent.length < RECENT_STEPS) return null;
    const to = this.recent.reduce((s, x) => s + x, 0) / this.recent.length;
    const diverged = to >= this.first * DIVERGED_RATIO && to - this.first >= DIVERGED_RISE;
    return diverged ? { from: this.first, to } : null;
  }
}

/** A learning rate as people write it: 0.1, 0.03, 1e-3, 3e-4. */
export function formatRate(rate: number): string {
  const rounded = Number(rate.toPrecision(2));
  return rounded >= 0.01 ? String(rounded) : rounded.toExponential();
}

/**
 * What the stage's notice says: the figures, and the learning rate to try (the stage's default when the run's
 * is above it, else a tenth of the run's).
 */
export function divergenceNotice(metric: string, d: Divergence, specs: readonly SettingSpec[], settings: SettingValues): string {
  const rose = `${metric} rose from ${d.from.toFixed(2)} to ${d.to.toFixed(2)}`;
  const spec = specs.find((s) => s.key === 'learning_rate');
  const rate = settings.learning_rate;
  if (spec?.kind !== 'float' || typeof rate !== 'number') return `${rose}: the run diverged.`;
  const above = rate > spec.default;
  const suggested = above ? spec.default : rate / 10;
  return `${rose}: the learning rate ${formatRate(rate)} ${above ? 'is' : 'may be'} too high; try ${formatRate(suggested)}.`;
}
