/**
 * Causal multi-head self-attention as WebGPU kernels, straight from the fused q|k|v rows
 * qkv [B*T, 3C] to the merged output [B*T, C]: no split, no head transposes. Two dispatches forward
 * (P = softmax(q k^T / sqrt(D)) under the causal mask, then P v) and two backward (dS, then
 * d q|k|v). One workgroup holds a row of scores, so the context is at most MAX_TIME.
 */
import * as tf from '@tensorflow/tfjs';
import { perElement, program, registerWgsl, runWgsl, WORKGROUP, WORKGROUP_SUM } from './program';

export const MAX_TIME = 256;

const SHAPE_UNIFORMS = 'time : i32, heads : i32, headDim : i32, scale : f32,';

/** Which batch row b, head h and query position i a row of scores [B, H, T, T] belongs to. */
const SHAPE = `
  ${WORKGROUP_SUM}
  var<workgroup> scoreRow : array<f32, ${MAX_TIME}>;
  fn width() -> i32 { return uniforms.heads * uniforms.headDim; }
  fn qAt(b : i32, t : i32, h : i32) -> i32 { return ((b * uniforms.time + t) * 3) * width() + h * uniforms.headDim; }
  fn kAt(b : i32, t : i32, h : i32) -> i32 { return qAt(b, t, h) + width(); }
  fn vAt(b : i32, t : i32, h : i32) -> i32 { return qAt(b, t, h) + 2 * width(); }
  fn yAt(b : i32, t : i32, h : i32) -> i32 { return (b * uniforms.time + t) * width() + h * uniforms.headDim; }
  fn scoreAt(b : i32, h : i32, i : i32, j : i32) -> i32 { return ((b * uniforms.heads + h) * uniforms.time + i) * uniforms.time + j; }
`;

function uniforms(time: number, heads: number, headDim: number) {
  return [
    { type: 'int32' as const, data: [time] },
    { type: 'int32' as const, data: [heads] },
    { type: 'int32' as const, data: [headDim] },
    { type: 'float32' as const, data: [1 / Math.sqrt(headDim)] },
  ];
}

function dims(qkv: tf.TensorInfo, attrs: Record<string, number>) {
  const { batch, heads } = attrs;
  const time = qkv.shape[0] / batch;
  return { batch, heads, time, headDim: qkv.shape[1] / 3 / heads };
}

/** P [B, H, T, T]: a workgroup per query row; zero above the diagonal. */
registerWgsl(
  'RlhfAttentionScores',
  ([qkv], attrs) => {
    const { batch, heads, time, headDim } = dims(qkv, attrs);
    const code = `${SHAPE}
    fn main(index : i32) {
      let row = index / ${WORKGROUP};
      let tid = i32(localId.x);
      let T = uniforms.time;
      let i = row % T;
      let h = (row / T) % uniforms.heads;
      let b = row / (T * uniforms.heads);
      var rowMax = -3.0e38;
      for (var j = tid; j <= i; j += ${WORKGROUP}) {
        var s = 0.0;
        for (var d = 0; d < uniforms.headDim; d++) { s += qkv[qAt(b, i, h) + d] * qkv[kAt(b, j, h) + d]; }
        scoreRow[j] = s * uniforms.scale;
        rowMax = max(rowMax, scoreRow[j]);
      }
      rowMax = workgroupMax(rowMax, tid);
      var z = 0.0;
      for (var j = tid; j <= i; j += ${WORKGROUP}) { scoreRow[j] = exp(scoreRow[j] - rowMax); z += scoreRow[j]; }
      z = workgroupSum(z, tid);
      for (var j = tid; j < T; j += ${WORKGROUP}) { result[row * T + j] = select(0.0, scoreRow[j] / z, j <= i); }
    }`;
    return {
      program: program('rlhf_attn_scores', ['qkv'], [batch, heads, time, time], SHAPE_UNIFORMS, code, batch * heads * time),
      uniforms: uniforms(time, heads, headDim),
    };
  },
  ['qkv'],
);

/** y [B*T, C] = P v, heads merged: a thread per output element. */
registerWgsl(
  'RlhfAttentionApply',
  ([qkv], attrs) => {
    const { batch, heads, time, headDim } = dims(qkv, attrs);
    const code = `${SHAPE}
    fn main(index : i32) {
      if (index < uniforms.size) {
        let n = index / width();
        let h = (index % width()) / uniforms.headDim;
        let d = index % uniforms.headDim;
        let b = n / uniforms.time;
        let i = n % uniforms.time;
        var y = 0.0;
        for (var j = 0; j <= i; j++) { y += p[scoreAt(b, h, i, j)] * qkv[vAt(b, j, h) + d]; }
        result[index] = y;
      }
    }`;
    const shape = [batch * time, heads * headDim];
    return {
      program: program('rlhf_attn_apply', ['qkv', 'p'], shape, SHAPE_UNIFORMS, code, perElement(shape)),
      uniforms: uniforms(time, heads, headDim),
    };
  },
  ['qkv', 'p'],
);

/** dS = P * (dP - rowsum(P * dP)) * scale with dP = dy v^T: the gradient at the scaled scores. */
registerWgsl(
  'RlhfAttentionGradScores',
  ([qkv], attrs) => {
    const { batch, heads, time, headDim } = dims(qkv, attrs);
    const code = `${SHAPE}
    fn main(index : i32) {
      let row = index / ${WORKGROUP};
      let tid = i32(localId.x);
      let T = uniforms.time;
      let i = row % T;
      let h = (row / T) % uniforms.heads;
      let b = row / (T * uniforms.heads);
      var r = 0.0;
      for (var j = tid; j <= i; j += ${WORKGROUP}) {
        var dp = 0.0;
        for (var d = 0; d < uniforms.headDim; d++) { dp += dy[yAt(b, i, h) + d] * qkv[vAt(b, j, h) + d]; }
        scoreRow[j] = dp;
        r += dp * p[row * T + j];
      }
      r = workgroupSum(r, tid);
      for (var j = tid; j < T; j += ${WORKGROUP}) {
        result[row * T + j] = select(0.0, p[row * T + j] * (scoreRow[j] - r) * uniforms.scale, j <= i);
      }
    }`;
    return {
      program: program('rlhf_attn_dscores', ['qkv', 'p', 'dy'], [batch, heads, time, time], SHAPE_UNIFORMS, code, batch * heads * time),
      uniforms: uniforms(time, heads, headDim),
    };
  },
  ['qkv', 'p', 'dy'],
);

/** d q|k|v [B*T, 3C]: dq = dS k, dk = dS^T q, dv = P^T dy, a thread per element. */
registerWgsl(
  'RlhfAttentionGradQkv',
  ([qkv], attrs) => {
    const { heads, time, headDim } = dims(qkv, attrs);
    const code = `${SHAPE}
    fn main(index : i32) {
      if (index < uniforms.size) {
        let n = index / (3 * width());
        let col = index % (3 * width());
        let part = col / width();
        let h = (col % width()) / uniforms.headDim;
        let d = col % uniforms.headDim;
        let b = n / uniforms.time;
        let t = n % uniforms.time;
        var g = 0.0;
        if (part == 0) {
          for (var j = 0; j <= t; j++) { g += ds[scoreAt(b, h, t, j)] * qkv[kAt(b, j, h) + d]; }
        } else if (part == 1) {
          for (var i = t; i < uniforms.time; i++) { g += ds[scoreAt(b, h, i, t)] * qkv[qAt(b, i, h) + d]; }
        } else {
          for (var i = t; i < uniforms.time; i++) { g += p[scoreAt(b, h, i, t)] * dy[yAt(b, i, h) + d]; }
        }
        result[index] = g;
      }
    }`;
    return {
      program: program('rlhf_attn_dqkv', ['qkv', 'p', 'ds', 'dy'], qkv.shape, SHAPE_UNIFORMS, code, perElement(qkv.shape)),
      uniforms: uniforms(time, heads, headDim),
    };
  },
  ['qkv', 'p', 'ds', 'dy'],
);

/** Causal self-attention of qkv [B*T, 3C] (q, k, v side by side, heads inside each) -> [B*T, C]. */
export function causalAttentionFused(qkv: tf.Tensor2D, batch: number, heads: number): tf.Tensor2D {
  const attrs = { batch, heads };
  const f = tf.customGrad((...args) => {
    const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    const p = runWgsl('RlhfAttentionScores', { qkv: x }, attrs);
    save([x, p]);
    return {
      value: runWgsl<tf.Tensor2D>('RlhfAttentionApply', { qkv: x, p }, attrs),
      gradFunc: (dy: tf.Tensor, [xSaved, pSaved]: tf.Tensor[]) => {
        const ds = runWgsl('RlhfAttentionGradScores', { qkv: xSaved, p: pSaved, dy }, attrs);
        return runWgsl('RlhfAttentionGradQkv', { qkv: xSaved, p: pSaved, ds, dy }, attrs);
      },
    };
  });
  return f(qkv) as tf.Tensor2D;
}
