/**
 * LayerNorm over the last axis of rows x [N, C] as WebGPU kernels: the forward is one dispatch
 * (a workgroup per row), the backward four (row statistics, dx, d gain, and d bias as a column sum).
 * Same function as layers.ts's composed layerNorm: y = (x - mean) / sqrt(var + eps) * gain + bias.
 */
import * as tf from '@tensorflow/tfjs';
import { program, registerWgsl, runWgsl, WORKGROUP, WORKGROUP_SUM } from './program';
import { columnSum } from './linear';

const ROW_STATS = `
  ${WORKGROUP_SUM}
  fn rowStats(base : i32, cols : i32, tid : i32, eps : f32) -> vec2<f32> {
    var s = 0.0;
    for (var c = tid; c < cols; c += ${WORKGROUP}) { s += x[base + c]; }
    let mean = workgroupSum(s, tid) / f32(cols);
    var q = 0.0;
    for (var c = tid; c < cols; c += ${WORKGROUP}) { let d = x[base + c] - mean; q += d * d; }
    return vec2<f32>(mean, inverseSqrt(workgroupSum(q, tid) / f32(cols) + eps));
  }
`;

registerWgsl(
  'RlhfLayerNorm',
  ([x], { eps }) => {
    const [rows, cols] = x.shape;
    const code = `${ROW_STATS}
    fn main(index : i32) {
      let row = index / ${WORKGROUP};
      let tid = i32(localId.x);
      let cols = uniforms.cols;
      let stats = rowStats(row * cols, cols, tid, uniforms.eps);
      for (var c = tid; c < cols; c += ${WORKGROUP}) {
        let i = row * cols + c;
        result[i] = (x[i] - stats.x) * stats.y * gain[c] + bias[c];
      }
    }`;
    return {
      program: program('rlhf_ln_fwd', ['x', 'gain', 'bias'], [rows, cols], 'cols : i32, eps : f32,', code, rows),
      uniforms: [
        { type: 'int32', data: [cols] },
        { type: 'float32', data: [eps] },
      ],
    };
  },
  ['x', 'gain', 'bias'],
);

/** [N, 2]: mean and 1/sqrt(var + eps) of each row. */
registerWgsl(
  'RlhfLayerNormStats',
  ([x], { eps }) => {
    const [rows, cols] = x.shape;
    const code = `${ROW_STATS}
    fn main(index : i32) {
      let row = index / ${WORKGROUP};
      let tid = i32(localId.x);
      let stats = rowStats(row * uniforms.cols, uniforms.cols, tid, uniforms.eps);
      if (tid == 0) { result[2 * row] = stats.x; result[2 * row + 1] = stats.y; }
    }`;
    return {
      program: program('rlhf_ln_stats', ['x'], [rows, 2], 'cols : i32, eps : f32,', code, rows),
      uniforms: [
        { type: 'int32', data: [cols] },
        { type: 'float32', data: [eps] },
      ],
    };
  },
  ['x'],
);

/** dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * gain. */
registerWgsl(
  'RlhfLayerNormGradX',
  ([x]) => {
    const [rows, cols] = x.shape;
    const code = `${WORKGROUP_SUM}
    fn main(index : i32) {
      let row = index / ${WORKGROUP};
      let tid = i32(localId.x);
      let cols = uniforms.cols;
      let mean = stats[2 * row];
      let rstd = stats[2 * row + 1];
      var sg = 0.0;
      var sgx = 0.0;
      for (var c = tid; c < cols; c += ${WORKGROUP}) {
        let i = row * cols + c;
        let g = dy[i] * gain[c];
        sg += g;
        sgx += g * (x[i] - mean) * rstd;
      }
      let meanG = workgroupSum(sg, tid) / f32(cols);
      let meanGX = workgroupSum(sgx, tid) / f32(cols);
      for (var c = tid; c < cols; c += ${WORKGROUP}) {
        let i = row * cols + c;
        let xhat = (x[i] - mean) * rstd;
        result[i] = rstd * (dy[i] * gain[c] - meanG - xhat * meanGX);
      }
    }`;
    return {
      program: program('rlhf_ln_dx', ['x', 'gain', 'dy', 'stats'], [rows, cols], 'cols : i32,', code, rows),
      uniforms: [{ type: 'int32', data: [cols] }],
    };
  },
  ['x', 'gain', 'dy', 'stats'],
);

/** d gain [C] = sum over rows of dy * xhat: a workgroup per column. */
registerWgsl(
  'RlhfLayerNormGradGain',
  ([x]) => {
    const [rows, cols] = x.shape;
    const code = `${WORKGROUP_SUM}
    fn main(index : i32) {
      let col = index / ${WORKGROUP};
      let tid = i32(localId.x);
      let cols = uniforms.cols;
      var s = 0.0;
      for (var r = tid; r < uniforms.rows; r += ${WORKGROUP}) {
        let i = r * cols + col;
        s += dy[i] * (x[i] - stats[2 * r]) * stats[2 * r + 1];
      }
      let total = workgroupSum(s, tid);
      if (tid == 0) { result[col] = total; }
    }`;
    return {
      program: program('rlhf_ln_dgain', ['x', 'dy', 'stats'], [cols], 'rows : i32, cols : i32,', code, cols),
      uniforms: [
        { type: 'int32', data: [rows] },
        { type: 'int32', data: [cols] },
      ],
    };
  },
  ['x', 'dy', 'stats'],
);

export function layerNormFused(x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D, eps = 1e-5): tf.Tensor2D {
  const f = tf.customGrad((...args) => {
    const [xs, g, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
    save([xs, g]);
    return {
      value: runWgsl<tf.Tensor2D>('RlhfLayerNorm', { x: xs, gain: g, bias: b }, { eps }),
      gradFunc: (dy: tf.Tensor, [xSaved, gSaved]: tf.Tensor[]) => {
        const stats = runWgsl('RlhfLayerNormStats', { x: xSaved }, { eps });
        return [
          runWgsl('RlhfLayerNormGradX', { x: xSaved, gain: gSaved, dy, stats }),
          runWgsl('RlhfLayerNormGradGain', { x: xSaved, dy, stats }),
          columnSum(dy),
        ];
      },
    };
  });
  return f(x, gain, bias) as tf.Tensor2D;
}
