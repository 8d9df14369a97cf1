/**
 * The AdamW update as WebGPU kernels over the flat gradient: one dispatch per moment vector and one
 * per parameter, instead of some thirty elementwise ops, a concat of the weights and a split.
 * Same arithmetic as src/lib/train/adamw.ts's composed step, including its guard: when the loss or
 * the gradient norm is not finite, weights and moments stay as they were.
 */
import * as tf from '@tensorflow/tfjs';
import { perElement, program, registerWgsl, runWgsl } from './program';

/** finite(loss) and finite(norm) from the bits (WGSL may assume there are no NaNs or infinities), and the clip factor. */
const GUARD = `
  fn isFiniteBits(x : f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
  fn stepIsFinite() -> bool { return isFiniteBits(loss[0]) && isFiniteBits(gradNorm[0]); }
  fn clipFactor() -> f32 {
    if (uniforms.maxGradNorm <= 0.0) { return 1.0; }
    return min(1.0, uniforms.maxGradNorm / (gradNorm[0] + 1e-6));
  }
`;

/** moment' = beta moment + (1 - beta) (clip g)^p, p = 1 (first moment) or 2 (second). */
registerWgsl(
  'RlhfAdamMoment',
  ([moment], { beta, power, maxGradNorm }) => {
    const code = `${GUARD}
    fn main(index : i32) {
      if (index < uniforms.size) {
        let g = grad[index] * clipFactor();
        let gp = select(g, g * g, uniforms.power == 2);
        result[index] = select(moment[index], uniforms.beta * moment[index] + (1.0 - uniforms.beta) * gp, stepIsFinite());
      }
    }`;
    return {
      program: program(
        'rlhf_adam_moment',
        ['moment', 'grad', 'loss', 'gradNorm'],
        moment.shape,
        'beta : f32, power : i32, maxGradNorm : f32,',
        code,
        perElement(moment.shape),
      ),
      uniforms: [
        { type: 'float32', data: [beta] },
        { type: 'int32', data: [power] },
        { type: 'float32', data: [maxGradNorm] },
      ],
    };
  },
  ['moment', 'grad', 'loss', 'gradNorm'],
);

/** w' = w - lr (m_hat / (sqrt(v_hat) + eps) + decay w) for one parameter at `offset` in the flat moments. */
registerWgsl(
  'RlhfAdamWeight',
  ([w], { offset, lr, bias1, bias2, eps, decay }) => {
    const code = `
    fn isFiniteBits(x : f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }
    fn main(index : i32) {
      if (index < uniforms.size) {
        let i = uniforms.offset + index;
        let adam = (m[i] / uniforms.bias1) / (sqrt(v[i] / uniforms.bias2) + uniforms.eps);
        let updated = w[index] - uniforms.lr * (adam + uniforms.decay * w[index]);
        result[index] = select(w[index], updated, isFiniteBits(loss[0]) && isFiniteBits(gradNorm[0]));
      }
    }`;
    return {
      program: program(
        'rlhf_adam_weight',
        ['w', 'm', 'v', 'loss', 'gradNorm'],
        w.shape,
        'offset : i32, lr : f32, bias1 : f32, bias2 : f32, eps : f32, decay : f32,',
        code,
        perElement(w.shape),
      ),
      uniforms: [
        { type: 'int32', data: [offset] },
        ...[lr, bias1, bias2, eps, decay].map((x) => ({ type: 'float32' as const, data: [x] })),
      ],
    };
  },
  ['w', 'm', 'v', 'loss', 'gradNorm'],
);

export interface AdamWStepArgs {
  lr: number;
  beta1: number;
  beta2: number;
  bias1: number;
  bias2: number;
  eps: number;
  maxGradNorm: number;
}

/** New first and second moments [total] from the flat gradient. */
export function adamMoments(
  m: tf.Tensor,
  v: tf.Tensor,
  grad: tf.Tensor1D,
  loss: tf.Scalar,
  gradNorm: tf.Scalar,
  a: AdamWStepArgs,
): [tf.Tensor1D, tf.Tensor1D] {
  const inputs = (moment: tf.Tensor) => ({ moment, grad, loss, gradNorm });
  return [
    runWgsl<tf.Tensor1D>('RlhfAdamMoment', inputs(m), { beta: a.beta1, power: 1, maxGradNorm: a.maxGradNorm }),
    runWgsl<tf.Tensor1D>('RlhfAdamMoment', inputs(v), { beta: a.beta2, power: 2, maxGradNorm: a.maxGradNorm }),
  ];
}

/** One parameter's new value, reading its moments at `offset` of the flat vectors. */
export function adamWeight(
  w: tf.Tensor,
  m: tf.Tensor1D,
  v: tf.Tensor1D,
  loss: tf.Scalar,
  gradNorm: tf.Scalar,
  offset: number,
  decay: number,
  a: AdamWStepArgs,
): tf.Tensor {
  return runWgsl('RlhfAdamWeight', { w, m, v, loss, gradNorm }, { offset, lr: a.lr, bias1: a.bias1, bias2: a.bias2, eps: a.eps, decay });
}
