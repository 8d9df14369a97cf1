/**
 * gelu(x + bias) for rows x [N, C] as WebGPU kernels: one dispatch forward, two backward (dx, and
 * d bias as a column sum). The GELU is layers.ts's tanh approximation written as
 * u * sigmoid(2z), z = sqrt(2/pi) (u + 0.044715 u^3).
 */
import * as tf from '@tensorflow/tfjs';
import { perElement, program, registerWgsl, runWgsl } from './program';
import { columnSum } from './linear';

const GELU = `
  const K = 0.7978845608028654;
  fn sigmoidOf(t : f32) -> f32 { return 1.0 / (1.0 + exp(-clamp(t, -80.0, 80.0))); }
  fn preActivation(i : i32) -> f32 { return x[i] + bias[i % uniforms.cols]; }
`;

registerWgsl(
  'RlhfBiasGelu',
  ([x]) => {
    const code = `${GELU}
    fn main(index : i32) {
      if (index < uniforms.size) {
        let u = preActivation(index);
        result[index] = u * sigmoidOf(2.0 * K * (u + 0.044715 * u * u * u));
      }
    }`;
    return {
      program: program('rlhf_bias_gelu', ['x', 'bias'], x.shape, 'cols : i32,', code, perElement(x.shape)),
      uniforms: [{ type: 'int32', data: [x.shape[1]] }],
    };
  },
  ['x', 'bias'],
);

/** d/du [u s(2z)] = s + u s (1 - s) 2 dz/du, dz/du = K (1 + 3 * 0.044715 u^2). */
registerWgsl(
  'RlhfBiasGeluGrad',
  ([x]) => {
    const code = `${GELU}
    fn main(index : i32) {
      if (index < uniforms.size) {
        let u = preActivation(index);
        let s = sigmoidOf(2.0 * K * (u + 0.044715 * u * u * u));
        let dz = K * (1.0 + 3.0 * 0.044715 * u * u);
        result[index] = dy[index] * (s + u * s * (1.0 - s) * 2.0 * dz);
      }
    }`;
    return {
      program: program('rlhf_bias_gelu_grad', ['x', 'bias', 'dy'], x.shape, 'cols : i32,', code, perElement(x.shape)),
      uniforms: [{ type: 'int32', data: [x.shape[1]] }],
    };
  },
  ['x', 'bias', 'dy'],
);

export function biasGeluFused(x: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad((...args) => {
    const [xs, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([xs, b]);
    return {
      value: runWgsl<tf.Tensor2D>('RlhfBiasGelu', { x: xs, bias: b }),
      gradFunc: (dy: tf.Tensor, [xSaved, bSaved]: tf.Tensor[]) => {
        const dx = runWgsl('RlhfBiasGeluGrad', { x: xSaved, bias: bSaved, dy });
        return [dx, columnSum(dx)];
      },
    };
  });
  return f(x, bias) as tf.Tensor2D;
}
