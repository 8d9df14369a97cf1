/** Small statistics for the lessons: Wilson intervals, sqrt(KL), smoothing and peaks of metric series. */
import { wilsonInterval as wilson } from '../rlhf/stats';

/**
 * Wilson score interval for a binomial share (successes may be fractional, e.g. ties counted as half).
 * z = 1.96 gives the 95 % interval. n = 0 gives [0, 1].
 */
export function wilsonInterval(successes: number, n: number, z = 1.96): { share: number; low: number; high: number } {
  return { share: n > 0 ? successes / n : NaN, ...wilson(successes, n, z) };
}

/** sqrt(KL) as Gao et al. (2022) plot it; a slightly negative k1 estimate counts as 0. */
export function sqrtKl(kl: number): number {
  return Math.sqrt(Math.max(0, kl));
}

/** Trailing moving average over `window` points (fewer at the start). */
export function movingAverage(xs: number[], window: number): number[] {
  const w = Math.max(1, Math.floor(window));
  return xs.map((_, i) => {
    const from = Math.max(0, i - w + 1);
    let s = 0;
    for (let j = from; j <= i; j++) s += xs[j];
    return s / (i - from + 1);
  });
}

/** Index of the largest finite value (the first one on ties); -1 when there is none. */
export function argmax(xs: number[]): number {
  let best = -1;
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i]) && (best < 0 || xs[i] > xs[best])) best = i;
  return best;
}

export function mean(xs: number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((s, x) => s + x, 0) / xs.length;
}

/**
 * The unbiased estimator of pass@k from n samples of which c pass (Chen et al. 2021, Eq. 1):
 *   pass@k = 1 - C(n - c, k) / C(n, k) = 1 - prod_{i = n-c+1}^{n} (1 - k / i),
 * the chance that k of the n samples, drawn without replacement, hold at least one pass. n = k: any pass; k = 1: c / n.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!(k >= 1 && k <= n && c >= 0 && c <= n)) throw new Error(`pass@${k} needs 1 <= k <= n and 0 <= c <= n (n ${n}, c ${c})`);
  if (n - c < k) return 1;
  let fail = 1;
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}

/**
 * 95 % interval of the difference p1 − p2 of two independent binomial shares (x1 of n1, x2 of n2): Newcombe's hybrid
 * score interval (1998, method 10), from each share's Wilson interval (l_i, u_i):
 *   low  = d − sqrt((p1 − l1)² + (u2 − p2)²),   high = d + sqrt((u1 − p1)² + (p2 − l2)²).
 * Two evaluations of the same prompts are positively correlated, so for them it errs wide.
 */
export function differenceInterval(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  z = 1.96,
): { difference: number; low: number; high: number } {
  const a = wilsonInterval(x1, n1, z);
  const b = wilsonInterval(x2, n2, z);
  const difference = a.share - b.share;
  return {
    difference,
    low: difference - Math.hypot(a.share - a.low, b.high - b.share),
    high: difference + Math.hypot(a.high - a.share, b.share - b.low),
  };
}
