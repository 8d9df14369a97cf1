import { describe, expect, it } from 'vitest';
import { clusteredWilson, isIndistinguishableFromChance, wilsonInterval } from '../../src/lib/rlhf/stats';

describe('wilsonInterval', () => {
  // Hand-computed: p = 0.8, z^2/n = 0.38416, centre = 0.99208 / 1.38416 = 0.716738,
  // half = 1.96 / 1.38416 * sqrt(0.016 + 0.009604) = 0.226580.
  it('matches hand-computed values for 8 of 10', () => {
    const { low, high } = wilsonInterval(8, 10);
    expect(low).toBeCloseTo(0.490158, 5);
    expect(high).toBeCloseTo(0.943318, 5);
  });

  it('matches hand-computed values for 50 of 100 and 0 of 10', () => {
    const mid = wilsonInterval(50, 100); // centre 0.5, half = 1.96 / 1.038416 * sqrt(0.0025 + 0.00009604) = 0.096170
    expect(mid.low).toBeCloseTo(0.40383, 4);
    expect(mid.high).toBeCloseTo(0.59617, 4);
    const none = wilsonInterval(0, 10); // [0, z^2/n / (1 + z^2/n)] = [0, 0.38416 / 1.38416]
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.38416 / 1.38416, 6);
  });

  it('narrows with n, honours z, and refuses impossible counts', () => {
    const a = wilsonInterval(60, 96);
    const b = wilsonInterval(600, 960);
    expect(b.high - b.low).toBeLessThan(a.high - a.low);
    const z1 = wilsonInterval(60, 96, 1);
    expect(z1.high - z1.low).toBeLessThan(a.high - a.low);
    expect(wilsonInterval(0, 0)).toEqual({ low: 0, high: 1 });
    expect(() => wilsonInterval(11, 10)).toThrow();
    expect(() => wilsonInterval(-1, 10)).toThrow();
  });
});

describe('clusteredWilson', () => {
  it('equals the plain interval when pairs within clusters vary no more than independent ones', () => {
    const clusters = Array.from({ length: 4 }, () => ({ correct: 3, pairs: 6 })); // no spread between rankings
    const r = clusteredWilson(clusters);
    expect(r.designEffect).toBe(1);
    expect(r.n).toBe(24);
    expect(r.clusters).toBe(4);
    expect(r.share).toBe(0.5);
    const plain = wilsonInterval(12, 24);
    expect(r.low).toBeCloseTo(plain.low, 12);
    expect(r.high).toBeCloseTo(plain.high, 12);
  });

  it('widens the interval when whole rankings are right or wrong together', () => {
    // p = 0.5, binomial variance 0.25 / 24; robust = 4/3 * 4 * 3^2 / 24^2 = 1/12; deff = 8, n_eff = 3
    const clusters = [
      { correct: 6, pairs: 6 },
      { correct: 0, pairs: 6 },
      { correct: 6, pairs: 6 },
      { correct: 0, pairs: 6 },
    ];
    const r = clusteredWilson(clusters);
    expect(r.designEffect).toBeCloseTo(8, 10);
    expect(r.effectiveN).toBeCloseTo(3, 10);
    const plain = wilsonInterval(1.5, 3);
    expect(r.low).toBeCloseTo(plain.low, 10);
    expect(r.high).toBeCloseTo(plain.high, 10);
    expect(r.high - r.low).toBeGreaterThan(wilsonInterval(12, 24).high - wilsonInterval(12, 24).low);
  });

  it('gives [0, 1] and NaN share with no pairs', () => {
    const r = clusteredWilson([{ correct: 0, pairs: 0 }]);
    expect(r.share).toBeNaN();
    expect([r.low, r.high]).toEqual([0, 1]);
  });
});

describe('isIndistinguishableFromChance', () => {
  it('is true exactly when the interval holds 0.5', () => {
    expect(isIndistinguishableFromChance(wilsonInterval(51, 96))).toBe(true); // 52.8 % of 96 pairs, the reported case
    expect(isIndistinguishableFromChance({ low: 0.5, high: 0.7 })).toBe(true);
    expect(isIndistinguishableFromChance(wilsonInterval(70, 96))).toBe(false);
    expect(isIndistinguishableFromChance({ low: 0.2, high: 0.45 })).toBe(false);
  });
});
