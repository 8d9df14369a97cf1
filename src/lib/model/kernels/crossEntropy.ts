/**
 * log softmax(logits / temperature) at the target token of each row, as WebGPU kernels: one
 * dispatch forward (a workgroup per row), one backward. Replaces oneHot * logSoftmax summed over
 * the vocabulary (logprobs.ts's composed logProbsAt).
 */
import * as tf from '@tensorflow/tfjs';
import { program, registerWgsl, runWgsl, WORKGROUP, WORKGROUP_SUM } from './program';

/** Row maximum and log-sum-exp of logits * invTemp. */
const ROW_LSE = `
  ${WORKGROUP_SUM}
  fn rowLogSumExp(row : i32, tid : i32) -> vec2<f32> {
    let V = uniforms.vocab;
    var m = -3.0e38;
    for (var v = tid; v < V; v += ${WORKGROUP}) { m = max(m, logits[row * V + v] * uniforms.invTemp); }
    m = workgroupMax(m, tid);
    var z = 0.0;
    for (var v = tid; v < V; v += ${WORKGROUP}) { z += exp(logits[row * V + v] * uniforms.invTemp - m); }
    return vec2<f32>(m, log(workgroupSum(z, tid)));
  }
`;

function uniforms(vocab: number, temperature: number) {
  return [
    { type: 'int32' as const, data: [vocab] },
    { type: 'float32' as const, data: [1 / temperature] },
  ];
}

registerWgsl(
  'RlhfTokenLogProb',
  ([logits], { temperature }) => {
    const [rows, vocab] = logits.shape;
    const code = `${ROW_LSE}
    fn main(index : i32) {
      let row = index / ${WORKGROUP};
      let tid = i32(localId.x);
      let lse = rowLogSumExp(row, tid);
      if (tid == 0) { result[row] = logits[row * uniforms.vocab + targets[row]] * uniforms.invTemp - lse.x - lse.y; }
    }`;
    return {
      program: program('rlhf_token_logprob', ['logits', 'targets'], [rows], 'vocab : i32, invTemp : f32,', code, rows),
      uniforms: uniforms(vocab, temperature),
    };
  },
  ['logits', 'targets'],
);

/** d logits = dy * (oneHot(target) - softmax(logits / T)) / T. */
registerWgsl(
  'RlhfTokenLogProbGrad',
  ([logits], { temperature }) => {
    const [rows, vocab] = logits.shape;
    const code = `${ROW_LSE}
    fn main(index : i32) {
      let row = index / ${WORKGROUP};
      let tid = i32(localId.x);
      let lse = rowLogSumExp(row, tid);
      let V = uniforms.vocab;
      let g = dy[row] * uniforms.invTemp;
      for (var v = tid; v < V; v += ${WORKGROUP}) {
        let p = exp(logits[row * V + v] * uniforms.invTemp - lse.x - lse.y);
        result[row * V + v] = g * (select(0.0, 1.0, v == targets[row]) - p);
      }
    }`;
    return {
      program: program('rlhf_token_logprob_grad', ['logits', 'targets', 'dy'], [rows, vocab], 'vocab : i32, invTemp : f32,', code, rows),
      uniforms: uniforms(vocab, temperature),
    };
  },
  ['logits', 'targets', 'dy'],
);

/** log pi(targets[n] | logits[n] / temperature) for logits [N, V] and int32 targets [N] -> [N]. */
export function tokenLogProbsFused(logits: tf.Tensor2D, targets: tf.Tensor1D, temperature = 1): tf.Tensor1D {
  const attrs = { temperature };
  const f = tf.customGrad((...args) => {
    const [l, t, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([l, t]);
    return {
      value: runWgsl<tf.Tensor1D>('RlhfTokenLogProb', { logits: l, targets: t }, attrs),
      gradFunc: (dy: tf.Tensor, [lSaved, tSaved]: tf.Tensor[]) => [
        runWgsl('RlhfTokenLogProbGrad', { logits: lSaved, targets: tSaved, dy }, attrs),
        tf.zerosLike(tSaved),
      ],
    };
  });
  return f(logits, targets) as tf.Tensor1D;
}
