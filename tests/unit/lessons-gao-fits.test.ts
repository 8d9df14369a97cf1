/**
 * Gao et al.'s fits (src/lib/lessons/gaoFits.ts): least squares recovers alpha and beta from points made by each form
 * (exactly, and within 0.05 under small seeded noise), the wrong form fits worse, too few points give no fit; and a
 * lesson chart with `fits` gets the dashed curve through a run's points (src/ui/lessons/lessonCharts.ts).
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/lib/data/rng';
import { fitGao, gaoGold } from '../../src/lib/lessons/gaoFits';
import type { ChartSpec, GaoForm, LessonInfo } from '../../src/lib/types';
import { chartLines, chartPoints } from '../../src/ui/lessons/lessonCharts';

const R = {
  'best-of-n': (a: number, b: number, d: number) => d * (a - b * d),
  rl: (a: number, b: number, d: number) => d * (a - b * Math.log(d)),
};
const ds = [0, 0.3, 0.6, 0.9, 1.2, 1.5, 1.8, 2.1];

function points(form: GaoForm, alpha: number, beta: number, origin: number, noise = 0, seed = 1) {
  const rng = new Rng(seed);
  return ds.map((d) => ({ d, gold: origin + (d === 0 ? 0 : R[form](alpha, beta, d)) + (d === 0 ? 0 : noise * (rng.next() - 0.5)) }));
}

const sse = (pts: { d: number; gold: number }[], form: GaoForm) => {
  const fit = fitGao(pts, form)!;
  return pts.reduce((s, p) => s + (gaoGold(fit, p.d) - p.gold) ** 2, 0);
};

describe('Gao et al. fits', () => {
  it('recover alpha and beta from points made by their form', () => {
    for (const [form, alpha, beta] of [
      ['best-of-n', 0.8, 0.3],
      ['rl', 0.5, 0.2],
      ['rl', 1.2, -0.1],
    ] as const) {
      const fit = fitGao(points(form, alpha, beta, -0.4), form)!;
      expect(fit.alpha, form).toBeCloseTo(alpha, 10);
      expect(fit.beta, form).toBeCloseTo(beta, 10);
      expect(fit.origin).toBe(-0.4);
      expect(gaoGold(fit, 0)).toBe(-0.4);
      expect(gaoGold(fit, 1.5)).toBeCloseTo(-0.4 + R[form](alpha, beta, 1.5), 10);
      // noise of +-0.01 moves them little
      const noisy = fitGao(points(form, alpha, beta, -0.4, 0.02, 3), form)!;
      expect(Math.abs(noisy.alpha - alpha)).toBeLessThan(0.05);
      expect(Math.abs(noisy.beta - beta)).toBeLessThan(0.05);
    }
  });

  it('fit the other form worse, and give nothing for fewer than three points', () => {
    expect(sse(points('best-of-n', 0.8, 0.3, 0), 'rl')).toBeGreaterThan(1e-4);
    expect(sse(points('rl', 0.5, 0.2, 0), 'best-of-n')).toBeGreaterThan(1e-4);
    expect(fitGao(points('rl', 0.5, 0.2, 0).slice(0, 2), 'rl')).toBeNull();
    expect(
      fitGao(
        [0, 0, 0].map((d) => ({ d, gold: 1 })),
        'rl',
      ),
    ).toBeNull(); // every point at d = 0
  });

  it('draw a dashed curve through a run of a lesson chart', () => {
    const chart: ChartSpec = {
      id: 'frontier',
      title: 'gold vs sqrt(KL)',
      series: [{ key: 'objective/gold', label: 'gold', kind: 'eval' }],
      x: 'objective/kl',
      xScale: 'sqrt',
      fits: [{ run: 'bon', form: 'best-of-n' }],
    };
    const made = points('best-of-n', 0.8, 0.3, 0.1);
    const run = {
      id: 'bon',
      points: made.map((p, i) => ({ step: i + 1, kind: 'eval' as const, values: { 'objective/gold': p.gold, 'objective/kl': p.d * p.d } })),
    };
    const drawn = chartPoints(chart, [run]);
    const fitted = drawn.filter((p) => 'bon:fit' in p.values);
    expect(fitted.length).toBeGreaterThan(10);
    for (const p of fitted) expect(p.values['bon:fit']).toBeCloseTo(0.1 + R['best-of-n'](0.8, 0.3, p.step), 8);
    expect(Math.max(...fitted.map((p) => p.step))).toBeCloseTo(2.1, 10);
    const info = { runs: [{ id: 'bon', label: 'best-of-n' }] } as unknown as LessonInfo;
    expect(chartLines(chart, info, [drawn])).toEqual([
      { key: 'bon:objective/gold@eval', label: 'best-of-n' },
      { key: 'bon:fit', label: 'best-of-n: fit, d(α − βd)', dashed: true },
    ]);
  });
});
