/**
 * Every fused WebGPU kernel (src/lib/model/kernels/) against the composed tfjs ops it replaces,
 * values and gradients to 1e-4, on the webgpu backend (Dawn; SwiftShader without a GPU).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { layerNormComposed } from '../../src/lib/model/layers';
import { layerNormFused } from '../../src/lib/model/kernels/layerNorm';
import { maxAbsDiff, useWebGpuBackend, valueAndGrads } from './setup-webgpu';

const skipReason = await useWebGpuBackend();
if (skipReason) console.warn(`\n*** WebGPU kernel tests SKIPPED: ${skipReason} ***\n`);

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
    for (const [rows, cols] of [[6, 16], [5, 48], [3, 130]]) {
      const inputs = [normal([rows, cols], 1, 2), tf.add(1, normal([cols], 2, 0.3)), normal([cols], 3, 0.3)];
      const f = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNormFused(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D);
      const c = (x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNormComposed(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D);
      await expectSame(valueAndGrads(f, inputs), valueAndGrads(c, inputs), ['y', 'dx', 'dgain', 'dbias']);
      tf.dispose(inputs);
    }
  });
});

if (skipReason) {
  describe('fused WebGPU kernels', () => {
    it.skip(`SKIPPED, no WebGPU here: ${skipReason}`, () => {});
  });
}
