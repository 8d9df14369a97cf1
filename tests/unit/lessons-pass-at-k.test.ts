/**
 * The unbiased pass@k estimator (lessons/stats.ts, Chen et al. 2021) against values derived by hand from
 * 1 - C(n - c, k) / C(n, k), and its edge cases: no pass, k = 1 (the share c / n), k = n (any pass), too few failures.
 */
import { describe, expect, it } from 'vitest';
import { passAtK } from '../../src/lib/lessons/stats';

describe('pass@k (Chen et al. 2021)', () => {
  it('is 1 - C(n-c, k) / C(n, k), worked by hand', () => {
    // n 8, c 3, k 2: C(5, 2) / C(8, 2) = 10 / 28, so 18 / 28 = 9 / 14
    expect(passAtK(8, 3, 2)).toBeCloseTo(9 / 14, 12);
    // n 8, c 1, k 4: C(7, 4) / C(8, 4) = 35 / 70: half the draws of 4 miss the one pass
    expect(passAtK(8, 1, 4)).toBeCloseTo(0.5, 12);
    // n 5, c 2, k 3: C(3, 3) / C(5, 3) = 1 / 10
    expect(passAtK(5, 2, 3)).toBeCloseTo(0.9, 12);
    // n 10, c 2, k 5: C(8, 5) / C(10, 5) = 56 / 252 = 2 / 9
    expect(passAtK(10, 2, 5)).toBeCloseTo(7 / 9, 12);
  });

  it('is c / n at k = 1, any pass at k = n, 0 without a pass, 1 when fewer than k fail', () => {
    for (let c = 0; c <= 8; c++) {
      expect(passAtK(8, c, 1), `c ${c}`).toBeCloseTo(c / 8, 12);
      expect(passAtK(8, c, 8), `c ${c}`).toBe(c > 0 ? 1 : 0);
    }
    expect(passAtK(8, 0, 3)).toBe(0);
    expect(passAtK(8, 6, 3)).toBe(1); // 2 failures cannot fill 3 draws
  });

  it('rises with k for a fixed n and c', () => {
    const ks = [1, 2, 3, 4, 5, 6].map((k) => passAtK(8, 2, k));
    for (let i = 1; i < ks.length; i++) expect(ks[i]).toBeGreaterThan(ks[i - 1]);
  });

  it('refuses k outside 1..n and c outside 0..n', () => {
    expect(() => passAtK(8, 1, 9)).toThrow(/1 <= k <= n/);
    expect(() => passAtK(8, 1, 0)).toThrow();
    expect(() => passAtK(8, 9, 1)).toThrow();
  });
});
