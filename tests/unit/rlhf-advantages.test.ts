import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { gae, gaeTensor, whiten, whitenArray } from '../../src/lib/rlhf/advantages';
import { useWasmBackend } from './setup-tf';

// at the top, not in beforeAll: describe('whiten') makes its tensors while the file is collected
await useWasmBackend();

function expectRowsClose(got: number[][], want: number[][], digits = 5) {
  expect(got.length).toBe(want.length);
  got.forEach((row, b) => {
    expect(row.length).toBe(want[b].length);
    row.forEach((x, t) => expect(x).toBeCloseTo(want[b][t], digits));
  });
}

/** [B, T] padded tensor from ragged rows; padding gets `pad` (garbage that must be ignored). */
function padded(rows: number[][], steps: number, pad: number): tf.Tensor2D {
  return tf.tensor2d(rows.map((row) => [...row, ...Array(steps - row.length).fill(pad)]));
}

function maskOf(lengths: number[], steps: number): tf.Tensor2D {
  return tf.tensor2d(lengths.map((n) => Array.from({ length: steps }, (_, t) => (t < n ? 1 : 0))));
}

describe('gae', () => {
  it('matches a hand computation with gamma = 1, lambda = 0.95', () => {
    // rewards [0, 0, 1], values [0.5, 0.6, 0.7], V after the last token = 0
    // t=2: delta = 1 + 0   - 0.7 = 0.3   A = 0.3
    // t=1: delta = 0 + 0.7 - 0.6 = 0.1   A = 0.1 + 0.95 * 0.3   = 0.385
    // t=0: delta = 0 + 0.6 - 0.5 = 0.1   A = 0.1 + 0.95 * 0.385 = 0.46575
    // returns = A + V = [0.96575, 0.985, 1.0]
    const { advantages, returns } = gae([[0, 0, 1]], [[0.5, 0.6, 0.7]], 1, 0.95);
    expectRowsClose(advantages, [[0.46575, 0.385, 0.3]], 10);
    expectRowsClose(returns, [[0.96575, 0.985, 1.0]], 10);
  });

  it('matches a hand computation with gamma = 0.9, lambda = 0.5', () => {
    // rewards [1, -1], values [0.2, 0.4]
    // t=1: delta = -1 + 0         - 0.4 = -1.4   A = -1.4
    // t=0: delta =  1 + 0.9 * 0.4 - 0.2 =  1.16  A = 1.16 + 0.9 * 0.5 * (-1.4) = 0.53
    // returns = [0.73, -1.0]
    const { advantages, returns } = gae([[1, -1]], [[0.2, 0.4]], 0.9, 0.5);
    expectRowsClose(advantages, [[0.53, -1.4]], 10);
    expectRowsClose(returns, [[0.73, -1.0]], 10);
  });

  it('gives Monte Carlo returns with gamma = lambda = 1', () => {
    const rewards = [[0.1, -0.2, 0.3, 2]];
    const { returns } = gae(rewards, [[5, -3, 1, 0.5]], 1, 1);
    expectRowsClose(returns, [[2.2, 2.1, 2.3, 2]], 10);
  });

  it('handles rows of different lengths, including an empty one', () => {
    const { advantages } = gae([[1], [], [0, 1]], [[0], [], [0, 0]], 1, 1);
    expectRowsClose(advantages, [[1], [], [1, 1]]);
  });

  it('rejects rows of mismatched length', () => {
    expect(() => gae([[1, 2]], [[1]], 1, 1)).toThrow(/row 0/);
  });
});

describe('gaeTensor', () => {
  const rewards = [[0, 0, 1], [0.5], [-0.3, 0.8]];
  const values = [[0.5, 0.6, 0.7], [0.1], [0.2, -0.4]];
  const lengths = [3, 1, 2];
  const steps = 4;

  for (const [gamma, lambda] of [
    [1, 0.95],
    [0.9, 0.5],
  ]) {
    it(`equals gae on padded unequal lengths (gamma ${gamma}, lambda ${lambda})`, async () => {
      const want = gae(rewards, values, gamma, lambda);
      const out = gaeTensor(padded(rewards, steps, 99), padded(values, steps, -77), maskOf(lengths, steps), gamma, lambda);
      const adv = (await out.advantages.array()) as number[][];
      const ret = (await out.returns.array()) as number[][];
      expectRowsClose(
        adv.map((row, b) => row.slice(0, lengths[b])),
        want.advantages,
      );
      expectRowsClose(
        ret.map((row, b) => row.slice(0, lengths[b])),
        want.returns,
      );
      adv.forEach((row, b) => row.slice(lengths[b]).forEach((x) => expect(x).toBe(0)));
      ret.forEach((row, b) => row.slice(lengths[b]).forEach((x) => expect(x).toBe(0)));
    });
  }

  it('leaks no tensors', () => {
    const r = padded(rewards, steps, 0);
    const v = padded(values, steps, 0);
    const m = maskOf(lengths, steps);
    const before = tf.memory().numTensors;
    const { advantages, returns } = gaeTensor(r, v, m, 1, 0.95);
    tf.dispose([advantages, returns]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([r, v, m]);
  });
});

describe('whiten', () => {
  const x = tf.tensor2d([
    [1, 2, 3, 100],
    [4, 5, -100, 100],
  ]);
  const mask = tf.tensor2d([
    [1, 1, 1, 0],
    [1, 1, 0, 0],
  ]);

  it('gives mean 0 and (unbiased) std 1 over the mask, ignoring padding', async () => {
    // valid entries 1..5: mean 3, unbiased var = (4 + 1 + 0 + 1 + 4) / 4 = 2.5
    const w = (await whiten(x, mask).array()) as number[][];
    const s = 1 / Math.sqrt(2.5);
    const want = [
      [-2 * s, -1 * s, 0, 0],
      [1 * s, 2 * s, 0, 0],
    ];
    w.forEach((row, b) => row.forEach((v, t) => expect(v).toBeCloseTo(want[b][t], 5)));
    const valid = [w[0][0], w[0][1], w[0][2], w[1][0], w[1][1]];
    const mean = valid.reduce((a, b) => a + b, 0) / valid.length;
    const variance = valid.reduce((a, b) => a + (b - mean) ** 2, 0) / (valid.length - 1);
    expect(mean).toBeCloseTo(0, 6);
    expect(variance).toBeCloseTo(1, 5);
  });

  it('keeps the mean with shiftMean = false', async () => {
    const w = (await whiten(x, mask, false).array()) as number[][];
    expect(w[0][2]).toBeCloseTo(3, 5);
    expect(w[0][3]).toBe(0);
  });

  it('agrees with whitenArray', async () => {
    const w = (await whiten(x, mask).array()) as number[][];
    const a = whitenArray([1, 2, 3, 4, 5]);
    [w[0][0], w[0][1], w[0][2], w[1][0], w[1][1]].forEach((v, i) => expect(v).toBeCloseTo(a[i], 5));
    expect(whitenArray([1, 2, 3], false)[1]).toBeCloseTo(2, 10);
    expect(whitenArray([])).toEqual([]);
    expect(whitenArray([7])).toEqual([0]);
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    whiten(x, mask).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
