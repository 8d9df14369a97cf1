/**
 * Bias gradients without transposes: tfjs's sum over axis 0 transposes first (two dispatches, and
 * slow on software adapters); a workgroup per column sums it in one. And linear x . w + b on
 * webgpu with that column sum in its gradient (the forward is tfjs's matMul with the bias fused in).
 */
import * as tf from '@tensorflow/tfjs';
import { program, registerWgsl, runWgsl, WORKGROUP, WORKGROUP_SUM } from './program';

registerWgsl(
  'RlhfColumnSum',
  ([x]) => {
    const [rows, cols] = x.shape;
    const code = `${WORKGROUP_SUM}
    fn main(index : i32) {
      let col = index / ${WORKGROUP};
      let tid = i32(localId.x);
      var s = 0.0;
      for (var r = tid; r < uniforms.rows; r += ${WORKGROUP}) { s += x[r * uniforms.cols + col]; }
      let total = workgroupSum(s, tid);
      if (tid == 0) { result[col] = total; }
    }`;
    return {
      program: program('rlhf_column_sum', ['x'], [cols], 'rows : i32, cols : i32,', code, cols),
      uniforms: [
        { type: 'int32', data: [rows] },
        { type: 'int32', data: [cols] },
      ],
    };
  },
  ['x'],
);

/** Sum of rows x [N, C] -> [C]. */
export function columnSum(x: tf.Tensor): tf.Tensor1D {
  return runWgsl<tf.Tensor1D>('RlhfColumnSum', { x });
}

export function linearFused(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  const f = tf.customGrad((...args) => {
    const [xs, ws, bs, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    save([xs, ws]);
    return {
      value: tf.fused.matMul({ a: xs, b: ws, bias: bs }) as tf.Tensor2D,
      gradFunc: (dy: tf.Tensor, [xSaved, wSaved]: tf.Tensor[]) => [
        tf.matMul(dy as tf.Tensor2D, wSaved as tf.Tensor2D, false, true),
        tf.matMul(xSaved as tf.Tensor2D, dy as tf.Tensor2D, true, false),
        columnSum(dy),
      ],
    };
  });
  return f(x, w, b) as tf.Tensor2D;
}
