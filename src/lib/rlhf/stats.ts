/**
 * Small statistics for honest held-out figures: the Wilson score interval for a share, and the same
 * interval for pair accuracy when pairs come in correlated clusters (the C(K,2) pairs of one ranking
 * share its K completions, so they are not independent trials).
 */

export interface Interval {
  low: number;
  high: number;
}

/**
 * Wilson score interval for `successes` out of `n` trials (z = 1.96: 95 %):
 *   centre = (p + z^2 / 2n) / (1 + z^2 / n),  half = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2).
 * n may be fractional (an effective sample size). n = 0 gives the uninformative [0, 1].
 */
export function wilsonInterval(successes: number, n: number, z = 1.96): Interval {
  if (!(n >= 0) || !(successes >= 0) || successes > n + 1e-9)
    throw new Error(`wilsonInterval needs 0 <= successes <= n, got ${successes} of ${n}`);
  if (n === 0) return { low: 0, high: 1 };
  const p = Math.min(1, successes / n);
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface ClusterCount {
  correct: number;
  pairs: number;
}

export interface ClusteredShare extends Interval {
  share: number;
  /** All trials (pairs) and clusters (rankings) counted. */
  n: number;
  clusters: number;
  /** Design effect: variance of the share with clustering / variance if every pair were independent (>= 1). */
  designEffect: number;
  /** n / designEffect: the number of independent pairs that would carry as much information. */
  effectiveN: number;
}

/**
 * Share of correct pairs over all clusters, with a Wilson interval at the effective sample size
 * n_eff = n / deff (Kish). deff compares the cluster-robust (ratio-estimator) variance of the share,
 *   v_c = C / (C - 1) * sum_i (x_i - p m_i)^2 / n^2   (x_i correct of m_i pairs in cluster i, C clusters),
 * with the binomial one, p (1 - p) / n; it is held at >= 1 (pairs of one ranking are never treated as
 * more informative than independent ones) and taken as 1 when either variance is 0 or C < 2.
 */
export function clusteredWilson(clusters: ClusterCount[], z = 1.96): ClusteredShare {
  const used = clusters.filter((c) => c.pairs > 0);
  const n = used.reduce((s, c) => s + c.pairs, 0);
  const correct = used.reduce((s, c) => s + c.correct, 0);
  const C = used.length;
  if (n === 0) return { share: NaN, low: 0, high: 1, n: 0, clusters: 0, designEffect: 1, effectiveN: 0 };
  const p = correct / n;
  const binomial = (p * (1 - p)) / n;
  let designEffect = 1;
  if (C >= 2 && binomial > 0) {
    const robust = ((C / (C - 1)) * used.reduce((s, c) => s + (c.correct - p * c.pairs) ** 2, 0)) / (n * n);
    designEffect = Math.max(1, robust / binomial);
  }
  const effectiveN = n / designEffect;
  return { share: p, ...wilsonInterval(p * effectiveN, effectiveN, z), n, clusters: C, designEffect, effectiveN };
}

/** The plain verdict: chance (0.5) lies inside the interval, so the figures cannot tell the model from a coin. */
export function isIndistinguishableFromChance(interval: Interval, chance = 0.5): boolean {
  return interval.low <= chance && chance <= interval.high;
}
