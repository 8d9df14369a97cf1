import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/lib/data/rng';
import { AdaptiveKlController, FixedKlController, klK1, klK3, klK3PerSequence, klPerToken, perTokenRewards } from '../../src/lib/rlhf/kl';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

describe('KL estimators', () => {
  it('k1 and k3 match hand values', async () => {
    const logp = tf.tensor1d([-1, -2, -0.5]);
    const logpRef = tf.tensor1d([-1.5, -1, -0.5]);
    // k1 = logp - logpRef = [0.5, -1, 0]  (negative where the policy is less likely than the reference)
    expect(Array.from(await klK1(logp, logpRef).data())).toEqual([0.5, -1, 0]);
    // log r = logpRef - logp = [-0.5, 1, 0]; r = [0.6065307, 2.7182818, 1]
    // k3 = (r - 1) - log r = [0.1065307, 0.7182818, 0]
    const k3 = Array.from(await klK3(logp, logpRef).data());
    [0.1065307, 0.7182818, 0].forEach((v, i) => expect(k3[i]).toBeCloseTo(v, 6));
    expect(Array.from(await klPerToken('k3', logp, logpRef).data())).toEqual(k3);
  });

  it('k3 is never negative, k1 can be', async () => {
    const rng = new Rng(1);
    const n = 500;
    const logp = tf.tensor1d(Array.from({ length: n }, () => -5 * rng.next()));
    const logpRef = tf.tensor1d(Array.from({ length: n }, () => -5 * rng.next()));
    const k3 = await klK3(logp, logpRef).data();
    const k1 = await klK1(logp, logpRef).data();
    expect(Math.min(...k3)).toBeGreaterThanOrEqual(0);
    expect(Math.min(...k1)).toBeLessThan(0);
  });

  it("one sample's k3 sum counts its response tokens only and is not negative where its k1 sum is", async () => {
    // row 0: k1 per token [0.5, -1, 0] sums to -0.5; k3 [0.1065307, 0.7182818, 0] to 0.8248125; the padding is garbage
    const logp = tf.tensor2d([
      [-1, -2, -0.5, 42],
      [-0.3, 9, 9, 9],
    ]);
    const logpRef = tf.tensor2d([
      [-1.5, -1, -0.5, -1e9],
      [-0.8, -9, 0, 1e9],
    ]);
    const mask = tf.tensor2d([
      [1, 1, 1, 0],
      [1, 0, 0, 0],
    ]);
    const k1Sum = Array.from(await tf.sum(tf.mul(klK1(logp, logpRef), mask), 1).data());
    expect(k1Sum[0]).toBeCloseTo(-0.5, 5);
    const k3Sum = Array.from(await klK3PerSequence(logp, logpRef, mask).data());
    expect(k3Sum[0]).toBeCloseTo(0.1065307 + 0.7182818, 5);
    // row 1: one token, log r = -0.5: k3 = exp(-0.5) - 1 + 0.5
    expect(k3Sum[1]).toBeCloseTo(Math.exp(-0.5) - 0.5, 5);
    expect(Math.min(...k3Sum)).toBeGreaterThanOrEqual(0);
  });

  it('rejects an unknown estimator', () => {
    expect(() => klPerToken('k2' as 'k1', tf.zeros([1]), tf.zeros([1]))).toThrow(/k2/);
  });
});

describe('perTokenRewards', () => {
  // B = 2, T = 4; row 0 has 3 response tokens, row 1 has 1. Padding holds garbage.
  const logpRows = [
    [-1, -2, -0.5, 42],
    [-0.3, 9, 9, 9],
  ];
  const logpRefRows = [
    [-1.5, -1, -0.5, -1e9],
    [-0.8, -9, 0, 1e9],
  ];
  const maskRows = [
    [1, 1, 1, 0],
    [1, 0, 0, 0],
  ];
  const lastIndex = [2, 0];
  const score = [5, -3];
  const beta = 0.1;

  for (const estimator of ['k1', 'k3'] as const) {
    it(`puts the score at the last response token and the KL penalty only on response tokens (${estimator})`, async () => {
      const klOf = (a: number, b: number) => (estimator === 'k1' ? a - b : Math.exp(b - a) - 1 - (b - a));
      const out = perTokenRewards(
        tf.tensor1d(score),
        tf.tensor2d(logpRows),
        tf.tensor2d(logpRefRows),
        tf.tensor2d(maskRows),
        tf.tensor1d(lastIndex, 'int32'),
        beta,
        estimator,
      );
      const kl = (await out.kl.array()) as number[][];
      const nonScore = (await out.nonScore.array()) as number[][];
      const rewards = (await out.rewards.array()) as number[][];
      for (let b = 0; b < 2; b++) {
        for (let t = 0; t < 4; t++) {
          const valid = maskRows[b][t] === 1;
          const wantKl = valid ? klOf(logpRows[b][t], logpRefRows[b][t]) : 0;
          const wantReward = -beta * wantKl + (t === lastIndex[b] ? score[b] : 0);
          expect(kl[b][t]).toBeCloseTo(wantKl, 5);
          expect(nonScore[b][t]).toBeCloseTo(-beta * wantKl, 5);
          expect(rewards[b][t]).toBeCloseTo(wantReward, 5);
        }
      }
      // spelled out for k1: row 0 = [-0.05, 0.1, 0 + 5, 0], row 1 = [-0.05 - 3, 0, 0, 0]
      if (estimator === 'k1') {
        [-0.05, 0.1, 5, 0].forEach((v, t) => expect(rewards[0][t]).toBeCloseTo(v, 6));
        [-3.05, 0, 0, 0].forEach((v, t) => expect(rewards[1][t]).toBeCloseTo(v, 6));
      }
      // rewards - nonScore is the score, exactly once per row, at lastIndex
      rewards.forEach((row, b) => {
        const scorePart = row.map((r, t) => r - nonScore[b][t]);
        expect(scorePart.filter((s) => Math.abs(s) > 1e-6)).toHaveLength(1);
        expect(scorePart[lastIndex[b]]).toBeCloseTo(score[b], 5);
      });
    });
  }

  it('accepts lastIndex as a number[] and leaks no tensors', async () => {
    const s = tf.tensor1d(score);
    const lp = tf.tensor2d(logpRows);
    const lr = tf.tensor2d(logpRefRows);
    const m = tf.tensor2d(maskRows);
    const before = tf.memory().numTensors;
    const out = perTokenRewards(s, lp, lr, m, lastIndex, beta, 'k3');
    const rewards = (await out.rewards.array()) as number[][];
    expect(rewards[1][0]).toBeCloseTo(-3 - beta * (Math.exp(-0.5) - 1 + 0.5), 5);
    tf.dispose([out.rewards, out.nonScore, out.kl]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([s, lp, lr, m]);
  });
});

describe('KL controllers', () => {
  it('adaptive controller follows Ziegler et al.', () => {
    const c = new AdaptiveKlController(0.2, 6, 10000);
    expect(c.value).toBe(0.2);
    // KL 9: err = clip(9/6 - 1 = 0.5) = 0.2; beta = 0.2 * (1 + 0.2 * 256 / 10000) = 0.2 * 1.00512 = 0.201024
    c.update(9, 256);
    expect(c.value).toBeCloseTo(0.201024, 12);
    // KL 5.4: err = 5.4/6 - 1 = -0.1; beta = 0.201024 * (1 - 0.1 * 512 / 10000) = 0.201024 * 0.99488 = 0.19999475712
    c.update(5.4, 512);
    expect(c.value).toBeCloseTo(0.19999475712, 12);
    // KL 0: err = clip(-1) = -0.2; beta *= 1 - 0.2 * 100 / 10000 = 0.998 -> 0.19959476760576
    c.update(0, 100);
    expect(c.value).toBeCloseTo(0.19959476760576, 12);
    // KL on target: unchanged
    const v = c.value;
    c.update(6, 1000);
    expect(c.value).toBe(v);
    // NaN KL: ignored
    c.update(NaN, 1000);
    expect(c.value).toBe(v);
  });

  it('fixed controller never moves', () => {
    const c = new FixedKlController(0.02);
    c.update(100, 1000);
    c.update(0, 1000);
    expect(c.value).toBe(0.02);
  });
});
