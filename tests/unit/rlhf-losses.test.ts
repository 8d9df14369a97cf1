import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { clippedPolicyLoss, clippedValueLoss, entropyFromLogits, maskedMean, maskedSum } from '../../src/lib/rlhf/losses';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

const scalar = async (t: tf.Tensor) => (await t.data())[0];

describe('maskedMean / maskedSum', () => {
  it('reduce over mask-1 entries only', async () => {
    const x = tf.tensor2d([
      [1, 2, 100],
      [3, -50, -50],
    ]);
    const m = tf.tensor2d([
      [1, 1, 0],
      [1, 0, 0],
    ]);
    expect(await scalar(maskedSum(x, m))).toBe(6);
    expect(await scalar(maskedMean(x, m))).toBe(2);
    expect(Array.from(await maskedMean(x, m, 1).data())).toEqual([1.5, 3]);
    expect(await scalar(maskedMean(x, tf.zerosLike(m)))).toBe(0); // empty mask: 0, not NaN
  });
});

describe('clippedPolicyLoss', () => {
  // eps = 0.2. Row 0 has four response tokens, row 1 has one; padding holds garbage (Inf/NaN).
  //   token  ratio  A    pg1 = -A*r   pg2 = -A*clip(r)   max    clipped (pg2 > pg1)
  //   a      1.5   +1    -1.5         -1.2               -1.2   yes  (above 1+eps, A > 0)
  //   b      1.5   -1     1.5          1.2                1.5   no   (above 1+eps, A < 0)
  //   c      0.5   +2    -1.0         -1.6               -1.0   no   (below 1-eps, A > 0)
  //   d      0.5   -2     1.0          1.6                1.6   yes  (below 1-eps, A < 0)
  //   e      1.1   +3    -3.3         -3.3               -3.3   no   (inside the clip range)
  // loss     = (-1.2 + 1.5 - 1.0 + 1.6 - 3.3) / 5 = -0.48
  // clipFrac = 2 / 5 = 0.4
  // approxKl = 0.5 * (2 ln(1.5)^2 + 2 ln(0.5)^2 + ln(1.1)^2) / 5 = 0.5 * (2*0.1644019 + 2*0.4804530 + 0.0090840) / 5 = 0.1298794
  const ratios = [
    [1.5, 1.5, 0.5, 0.5],
    [1.1, 1, 1, 1],
  ];
  const oldLogpRows = [
    [-1, -2, -0.7, -3],
    [-0.4, NaN, -1, -1],
  ];
  const logpRows = oldLogpRows.map((row, b) => row.map((o, t) => o + Math.log(ratios[b][t])));
  logpRows[1][2] = 100; // padding: exp(100 - (-1)) overflows float32
  const advantageRows = [
    [1, -1, 2, -2],
    [3, NaN, 7, -7],
  ];
  const maskRows = [
    [1, 1, 1, 1],
    [1, 0, 0, 0],
  ];
  const inputs = () => ({
    logp: tf.tensor2d(logpRows),
    oldLogp: tf.tensor2d(oldLogpRows),
    advantages: tf.tensor2d(advantageRows),
    mask: tf.tensor2d(maskRows),
  });

  it('matches the hand computation, with ratios above and below the clip range', async () => {
    const { logp, oldLogp, advantages, mask } = inputs();
    const out = clippedPolicyLoss(logp, oldLogp, advantages, mask, 0.2);
    expect(await scalar(out.loss)).toBeCloseTo(-0.48, 5);
    expect(await scalar(out.clipFrac)).toBeCloseTo(0.4, 6);
    const l = (r: number) => Math.log(r) ** 2;
    expect(await scalar(out.approxKl)).toBeCloseTo((0.5 * (2 * l(1.5) + 2 * l(0.5) + l(1.1))) / 5, 5);
    expect(await scalar(out.approxKl)).toBeCloseTo(0.1298794, 5);
  });

  it('passes gradient only through unclipped tokens', async () => {
    // d loss / d logp = -A * ratio / 5 where pg1 is the max, 0 where the clipped term is:
    //   a: 0, b: 1.5/5 = 0.3, c: -1.0/5 = -0.2, d: 0, e: -3.3/5 = -0.66, padding: 0
    const { logp, oldLogp, advantages, mask } = inputs();
    const grad = tf.grad((lp: tf.Tensor) => clippedPolicyLoss(lp as tf.Tensor2D, oldLogp, advantages, mask, 0.2).loss)(logp);
    const want = [
      [0, 0.3, -0.2, 0],
      [-0.66, 0, 0, 0],
    ];
    const got = (await grad.array()) as number[][];
    got.forEach((row, b) => row.forEach((g, t) => expect(g).toBeCloseTo(want[b][t], 5)));
  });

  it('leaks no tensors', () => {
    const { logp, oldLogp, advantages, mask } = inputs();
    const before = tf.memory().numTensors;
    const out = clippedPolicyLoss(logp, oldLogp, advantages, mask, 0.2);
    const grad = tf.grad((lp: tf.Tensor) => clippedPolicyLoss(lp as tf.Tensor2D, oldLogp, advantages, mask, 0.2).loss)(logp);
    tf.dispose([out.loss, out.clipFrac, out.approxKl, grad]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('clippedValueLoss', () => {
  // eps = 0.2. Row 0: three response tokens, row 1: one.
  //   token  V      V_old  R     V_clip                 (V-R)^2    (V_clip-R)^2   max        clipped
  //   1      1.0    0.5    1.0   0.5 + 0.2  =  0.7      0          0.09           0.09       yes
  //   2      0.0    0.5    1.0   0.5 - 0.2  =  0.3      1          0.49           1          no
  //   3      0.625  0.5    2.0   0.625 (inside)         1.890625   1.890625       1.890625   no
  //   4     -1.0    0.0   -2.0   0.0 - 0.2  = -0.2      1          3.24           3.24       yes
  // loss     = 0.5 * (0.09 + 1 + 1.890625 + 3.24) / 4 = 0.777578125
  // clipFrac = 2 / 4 = 0.5
  const inputs = () => ({
    values: tf.tensor2d([
      [1.0, 0.0, 0.625, 55],
      [-1.0, 9, 9, 9],
    ]),
    oldValues: tf.tensor2d([
      [0.5, 0.5, 0.5, -55],
      [0.0, NaN, 0, 0],
    ]),
    returns: tf.tensor2d([
      [1.0, 1.0, 2.0, 1e30],
      [-2.0, 0, 0, 0],
    ]),
    mask: tf.tensor2d([
      [1, 1, 1, 0],
      [1, 0, 0, 0],
    ]),
  });

  it('matches the hand computation', async () => {
    const { values, oldValues, returns, mask } = inputs();
    const out = clippedValueLoss(values, oldValues, returns, mask, 0.2);
    expect(await scalar(out.loss)).toBeCloseTo(0.777578125, 5);
    expect(await scalar(out.clipFrac)).toBeCloseTo(0.5, 6);
  });

  it('passes gradient only where the unclipped loss is the max', async () => {
    // d loss / d V = 0.5 * 2 (V - R) / 4 on unclipped tokens: token 2: -0.25, token 3: -0.34375
    const { values, oldValues, returns, mask } = inputs();
    const grad = tf.grad((v: tf.Tensor) => clippedValueLoss(v as tf.Tensor2D, oldValues, returns, mask, 0.2).loss)(values);
    const want = [
      [0, -0.25, -0.34375, 0],
      [0, 0, 0, 0],
    ];
    const got = (await grad.array()) as number[][];
    got.forEach((row, b) => row.forEach((g, t) => expect(g).toBeCloseTo(want[b][t], 5)));
  });

  it('leaks no tensors', () => {
    const { values, oldValues, returns, mask } = inputs();
    const before = tf.memory().numTensors;
    const out = clippedValueLoss(values, oldValues, returns, mask, 0.2);
    tf.dispose([out.loss, out.clipFrac]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('entropyFromLogits', () => {
  it('gives per-token entropy of softmax(logits)', async () => {
    // uniform over 4: ln 4 = 1.3862944; logits [1, 2, 3, -1e9]: p = [0.0900306, 0.2447285, 0.6652410, 0],
    // H = -sum p ln p = 0.8323956; a near one-hot distribution: ~0
    const logits = tf.tensor3d([
      [
        [0, 0, 0, 0],
        [1, 2, 3, -1e9],
        [50, 0, 0, 0],
      ],
    ]);
    const before = tf.memory().numTensors;
    const h = entropyFromLogits(logits);
    expect(h.shape).toEqual([1, 3]);
    const got = Array.from(await h.data());
    expect(got[0]).toBeCloseTo(Math.log(4), 5);
    expect(got[1]).toBeCloseTo(0.8323956, 5);
    expect(got[2]).toBeCloseTo(0, 5);
    h.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
