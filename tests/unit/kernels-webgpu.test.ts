/**
 * Every fused WebGPU kernel (src/lib/model/kernels/) against the composed tfjs ops it replaces,
 * values and gradients to 1e-4, on the webgpu backend (Dawn; SwiftShader without a GPU).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { causalMask, causalSelfAttentionComposed, gelu, layerNormComposed, linear } from '../../src/lib/model/layers';
import { layerNormFused } from '../../src/lib/model/kernels/layerNorm';
import { biasGeluFused } from '../../src/lib/model/kernels/biasGelu';
import { causalAttentionFused } from '../../src/lib/model/kernels/attention';
import { tokenLogProbsFused } from '../../src/lib/model/kernels/crossEntropy';
import { logProbsAtComposed } from '../../src/lib/model/logprobs';
import { setFusedKernels } from '../../src/lib/model/kernels/program';
import { columnSum } from '../../src/lib/model/kernels/linear';
import { AdamW } from '../../src/lib/train/adamw';
import { installSoftwareMatMul, isSoftwareAdapter } from '../../src/lib/model/kernels/matmul';
import { maxAbsDiff, webGpuOrSkipReason, valueAndGrads } from './setup-webgpu';

const skipReason = await webGpuOrSkipReason('WebGPU kernel');

const TOLERANCE = 1e-4;

async function expectSame(fused: tf.Tensor[], composed: tf.Tensor[], names: string[]): Promise<void> {
  expect(fused.length).toBe(composed.length);
  for (let i = 0; i < fused.length; i++) {
    expect(fused[i].shape, names[i]).toEqual(composed[i].shape);
    expect(await maxAbsDiff(fused[i], composed[i]), names[i]).toBeLessThan(TOLERANCE);
  }
  tf.dispose([...fused, ...composed]);
}

function normal(shape: number[], seed: number, scale = 1): tf.Tensor {
  return tf.mul(tf.randomNormal(shape, 0, 1, 'float32', seed), scale);
}

describe.skipIf(skipReason !== null)('fused WebGPU kernels match the composed ops (values and gradients, 1e-4)', () => {
  it('runs on the webgpu backend', () => {
    expect(tf.getBackend()).toBe('webgpu');
  });

  it('LayerNorm', async () => {
    for (const [rows, cols] of [
      [6, 16],
      [5, 48],
      [3, 130],
    ]) {
      const inputs = [normal([rows, cols], 1, 2), tf.add(1, normal([cols], 2, 0.3)), normal([cols], 3, 0.3)];
      const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNormFused(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D);
      const c = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNormComposed(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D);
      await expectSame(valueAndGrads(f, inputs), valueAndGrads(c, inputs), ['y', 'dx', 'dgain', 'dbias']);
      tf.dispose(inputs);
    }
  });

  it('bias + GELU', async () => {
    for (const [rows, cols] of [
      [4, 8],
      [7, 64],
    ]) {
      const inputs = [normal([rows, cols], 4, 2), normal([cols], 5, 0.5)];
      const f = (x: tf.Tensor, b: tf.Tensor) => biasGeluFused(x as tf.Tensor2D, b as tf.Tensor1D);
      const c = (x: tf.Tensor, b: tf.Tensor) => gelu(tf.add(x, b));
      await expectSame(valueAndGrads(f, inputs), valueAndGrads(c, inputs), ['y', 'dx', 'dbias']);
      tf.dispose(inputs);
    }
  });

  it('causal self-attention from fused q|k|v rows', async () => {
    for (const [batch, time, heads, headDim] of [
      [2, 5, 2, 4],
      [1, 70, 3, 8],
      [2, 16, 4, 16],
    ]) {
      const qkv = normal([batch * time, 3 * heads * headDim], 6, 1.5);
      const mask = causalMask(time);
      const f = (x: tf.Tensor) => causalAttentionFused(x as tf.Tensor2D, batch, heads);
      const c = (x: tf.Tensor) => causalSelfAttentionComposed(x as tf.Tensor2D, batch, heads, mask);
      await expectSame(valueAndGrads(f, [qkv]), valueAndGrads(c, [qkv]), ['y', 'dqkv']);
      tf.dispose([qkv, mask]);
    }
  });

  it('log-probability of target tokens (softmax cross-entropy), at temperatures 1 and 0.7', async () => {
    for (const temperature of [1, 0.7]) {
      const [batch, time, vocab] = [3, 5, 37];
      const logits = normal([batch, time, vocab], 8, 3);
      const targets = tf.tensor2d(
        Array.from({ length: batch * time }, (_, i) => (i * 11) % vocab),
        [batch, time],
        'int32',
      );
      const f = (l: tf.Tensor) =>
        tf.reshape(
          tokenLogProbsFused(tf.reshape(l, [batch * time, vocab]) as tf.Tensor2D, tf.reshape(targets, [-1]) as tf.Tensor1D, temperature),
          [batch, time],
        );
      const c = (l: tf.Tensor) => logProbsAtComposed(l as tf.Tensor3D, targets, temperature);
      await expectSame(valueAndGrads(f, [logits]), valueAndGrads(c, [logits]), ['logp', 'dlogits']);
      tf.dispose([logits, targets]);
    }
  });

  it('column sum', async () => {
    const x = normal([130, 9], 12);
    await expectSame([columnSum(x)], [tf.sum(x, 0)], ['sum']);
    x.dispose();
  });

  it('linear (tfjs fused matMul with bias; column-sum bias gradient)', async () => {
    const inputs = [normal([6, 12], 9), normal([12, 10], 10, 0.3), normal([10], 11)];
    const f = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D);
    const c = (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b);
    await expectSame(valueAndGrads(f, inputs), valueAndGrads(c, inputs), ['y', 'dx', 'dw', 'db']);
    tf.dispose(inputs);
  });
});

if (skipReason) {
  describe('fused WebGPU kernels', () => {
    it.skip(`SKIPPED, no WebGPU here: ${skipReason}`, () => {});
  });
}

describe.skipIf(skipReason !== null)('fused AdamW on webgpu matches the composed update (1e-4)', () => {
  async function twoSteps(fused: boolean, lossScale: number): Promise<tf.Tensor[]> {
    setFusedKernels(fused);
    const w1 = tf.variable(normal([5, 7], 21), true, `w1_${fused}_${lossScale}`);
    const b1 = tf.variable(normal([7], 22), true, `b1_${fused}_${lossScale}`);
    const opt = new AdamW([w1, b1], { maxGradNorm: 0.5 });
    const x = normal([3, 5], 23);
    for (let i = 0; i < 2; i++) {
      const r = opt.step(
        () => ({ loss: tf.mul(lossScale, tf.sum(tf.square(tf.add(tf.matMul(x as tf.Tensor2D, w1), b1)))) as tf.Scalar }),
        0.01,
      );
      tf.dispose([r.loss, r.gradNorm]);
    }
    const out = [tf.clone(w1), tf.clone(b1)];
    setFusedKernels(true);
    tf.dispose([w1, b1, x]);
    opt.dispose();
    return out;
  }

  it('two steps with clipping and weight decay give the same weights', async () => {
    await expectSame(await twoSteps(true, 1), await twoSteps(false, 1), ['w', 'b']);
  });

  it('a non-finite loss leaves the weights untouched', async () => {
    const [w, b] = await twoSteps(true, NaN);
    const [w0, b0] = [normal([5, 7], 21), normal([7], 22)];
    await expectSame([w, b], [w0, b0], ['w', 'b']);
  });
});

describe.skipIf(skipReason !== null)(
  'the software-adapter matMul (4 × 4 tiles) matches tfjs’s kernels (values and gradients, 1e-4)',
  () => {
    // [a's shape, b's shape, transposeA, transposeB, with a bias]: the model's products, odd sizes that leave tiles part-full
    const cases: [number[], number[], boolean, boolean, boolean][] = [
      [[19, 48], [48, 144], false, false, true],
      [[7, 5], [5, 9], false, false, false],
      [[5, 7], [5, 9], true, false, true],
      [[7, 5], [9, 5], false, true, false],
      [[5, 7], [9, 5], true, true, true],
      [[2, 2, 13, 6], [2, 2, 13, 6], false, true, false],
      [[2, 2, 13, 13], [2, 2, 13, 6], false, false, false],
      [[1, 1], [1, 1], false, false, true],
    ];

    function products(): tf.Tensor[][] {
      return cases.map(([shapeA, shapeB, transposeA, transposeB, withBias], i) =>
        tf.tidy(() => {
          const [a, b] = [normal(shapeA, 100 + i), normal(shapeB, 200 + i)];
          const bias = normal([shapeB[shapeB.length - (transposeB ? 2 : 1)]], 300 + i);
          const f = (x: tf.Tensor, y: tf.Tensor) =>
            withBias
              ? tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, bias, transposeA, transposeB })
              : tf.matMul(x, y, transposeA, transposeB);
          return valueAndGrads(f, [a, b]);
        }),
      );
    }

    it('over transposes, batches and a bias', async () => {
      const theirs = products();
      installSoftwareMatMul();
      const ours = products();
      for (const [i, c] of cases.entries()) await expectSame(ours[i], theirs[i], [`${JSON.stringify(c)} value`, 'dA', 'dB']);
    });

    it('names software adapters, not GPUs', () => {
      expect(isSoftwareAdapter('google / swiftshader / swiftshader-device-subzero- / SwiftShader driver 5.0.0')).toBe(true);
      expect(isSoftwareAdapter('mesa / llvmpipe (LLVM 15.0.6, 256 bits)')).toBe(true);
      expect(isSoftwareAdapter('nvidia / hopper / NVIDIA H200')).toBe(false);
    });
  },
);
