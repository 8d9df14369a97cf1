/**
 * The functional forms that Gao et al. (2022, "Scaling laws for reward model overoptimization") fit to the gold reward
 * gained against d = sqrt(KL from the initial policy), and their least-squares fit to a run's points:
 *   best-of-n   R(d) = d (alpha - beta d)
 *   RL          R(d) = d (alpha - beta log d)
 * R is the gold above the run's first point (d = 0, the SFT model), so R(0) = 0. Both forms are linear in (alpha, beta):
 * R = alpha f(d) - beta g(d) with f = d and g = d^2 or d log d, solved by the 2x2 normal equations. Pure.
 */
import type { GaoForm } from '../types';

export interface GaoFit {
  form: GaoForm;
  alpha: number;
  beta: number;
  /** The gold at d = 0 that R is measured from (the run's first point). */
  origin: number;
}

/** The second feature of a form: R = alpha d - beta g(d); d log d -> 0 as d -> 0. */
function g(form: GaoForm, d: number): number {
  if (form === 'best-of-n') return d * d;
  return d > 0 ? d * Math.log(d) : 0;
}

/** R(d) of a fit, as gold (origin + R). */
export function gaoGold(fit: GaoFit, d: number): number {
  return fit.origin + fit.alpha * d - fit.beta * g(fit.form, d);
}

/**
 * Least squares of R(d) = alpha d - beta g(d) through points (d, gold), gold measured from the first point's: null when
 * fewer than three points or when the two features cannot be told apart on them (a singular system).
 */
export function fitGao(points: { d: number; gold: number }[], form: GaoForm): GaoFit | null {
  if (points.length < 3) return null;
  const origin = points[0].gold;
  // normal equations [sff sfg; sfg sgg] [alpha; -beta] = [sfy; sgy]
  let sff = 0;
  let sfg = 0;
  let sgg = 0;
  let sfy = 0;
  let sgy = 0;
  for (const { d, gold } of points) {
    const f = d;
    const gd = g(form, d);
    const y = gold - origin;
    sff += f * f;
    sfg += f * gd;
    sgg += gd * gd;
    sfy += f * y;
    sgy += gd * y;
  }
  const det = sff * sgg - sfg * sfg;
  if (!(Math.abs(det) > 1e-12 * Math.max(sff * sgg, 1e-300))) return null;
  const alpha = (sfy * sgg - sgy * sfg) / det;
  const minusBeta = (sff * sgy - sfg * sfy) / det;
  return { form, alpha, beta: -minusBeta, origin };
}
