/**
 * The small building blocks of the GPT, as plain functions of tensors. Activations are 2-D [N, C] rows.
 * On the webgpu backend some blocks run as fused kernels (./kernels/), each tested against the
 * composed ops kept here for every other backend.
 */
import * as tf from '@tensorflow/tfjs';
import { onWebGpu } from './kernels/program';
import { layerNormFused } from './kernels/layerNorm';
import { biasGeluFused } from './kernels/biasGelu';
import { causalAttentionFused, MAX_TIME } from './kernels/attention';
import { linearFused } from './kernels/linear';

/** Finite, not -Infinity: WGSL may assume there are no infinities (webgpu-notes.md). */
export const MASKED = -1e9;

/**
 * oneHot as float32. Not tf.oneHot's dtype argument: the wasm backend ignores it and returns int32
 * bits labelled float32 (tfjs 4.22), which silently turns every loss into a denormal.
 */
export function oneHotFloat(indices: tf.Tensor | number[], depth: number): tf.Tensor {
  return tf.cast(tf.oneHot(Array.isArray(indices) ? tf.tensor1d(indices, 'int32') : indices, depth), 'float32');
}

/**
 * a . b for 2-D a [N, K] and b [K, M]. The gradient uses explicit transposes: on the wasm backend a
 * matMul with a transpose flag runs about 9x slower than transpose + plain matMul. On webgpu the
 * flags cost nothing and the transposes are extra dispatches, so there tfjs's own gradient runs.
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (onWebGpu()) return tf.matMul(a, b);
  // customGrad keeps only what goes through `save`: the forward's tensors are gone by backprop time.
  const product = tf.customGrad((...args) => {
    const [x, w, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([x, w]);
    return {
      value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
      gradFunc: (dy: tf.Tensor, [xs, ws]: tf.Tensor[]) => [
        tf.matMul(dy as tf.Tensor2D, tf.transpose(ws) as tf.Tensor2D),
        tf.matMul(tf.transpose(xs) as tf.Tensor2D, dy as tf.Tensor2D),
      ],
    };
  });
  return product(a, b) as tf.Tensor2D;
}

/** x . w + b; on webgpu the bias add rides in the matMul's dispatch. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (onWebGpu()) return linearFused(x, w, b);
  return tf.add(matMul2d(x, w), b);
}

/** gelu(x . w + b), the MLP's first half. */
export function linearGelu(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  if (onWebGpu()) return biasGeluFused(tf.matMul(x, w), b);
  return gelu(linear(x, w, b)) as tf.Tensor2D;
}

/** x . w^T without materialising the transpose where the backend allows it (the tied output head). */
export function matMulTransposed(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (onWebGpu()) return tf.matMul(x, w, false, true);
  return matMul2d(x, tf.transpose(w) as tf.Tensor2D);
}

export function layerNorm(x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D, eps = 1e-5): tf.Tensor2D {
  return onWebGpu() ? layerNormFused(x, gain, bias, eps) : layerNormComposed(x, gain, bias, eps);
}

export function layerNormComposed(x: tf.Tensor2D, gain: tf.Tensor1D, bias: tf.Tensor1D, eps = 1e-5): tf.Tensor2D {
  const mean = tf.mean(x, -1, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centred), -1, true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), gain), bias);
}

/**
 * GELU, tanh approximation (GPT-2): 0.5 x (1 + tanh(z)), z = sqrt(2/pi) (x + 0.044715 x^3).
 * Computed as x * sigmoid(2z), which is the same function (tanh(z) = 2 sigmoid(2z) - 1) and ~7x
 * faster on wasm than tanh and pow.
 */
export function gelu(x: tf.Tensor): tf.Tensor {
  const cube = tf.mul(tf.mul(x, x), x);
  const z = tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, cube)));
  return tf.mul(x, tf.sigmoid(tf.mul(2, z)));
}

/**
 * Rows of `table` for `ids` [N] -> [N, C]. Forward is a gather; the gradient is oneHot(ids)^T . dy,
 * because gather's own gradient needs UnsortedSegmentSum, which the wasm backend lacks.
 */
export function embed(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const vocabSize = table.shape[0];
  const lookup = tf.customGrad((...args) => {
    const [t, indices, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    save([indices]);
    return {
      value: tf.gather(t, indices),
      gradFunc: (dy: tf.Tensor, [saved]: tf.Tensor[]) => [
        tf.matMul(tf.transpose(oneHotFloat(saved, vocabSize)) as tf.Tensor2D, dy as tf.Tensor2D),
        tf.zerosLike(saved), // token ids get no gradient
      ],
    };
  });
  return lookup(table, ids) as tf.Tensor2D;
}

/** [B*T, C] -> [B, H, T, D] */
export function splitHeads(x: tf.Tensor2D, batch: number, time: number, nHead: number): tf.Tensor4D {
  const headDim = x.shape[1] / nHead;
  return tf.transpose(tf.reshape(x, [batch, time, nHead, headDim]), [0, 2, 1, 3]);
}

/** [B, H, T, D] -> [B*T, C] */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor2D {
  const [batch, nHead, time, headDim] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [batch * time, nHead * headDim]);
}

/** softmax(q k^T / sqrt(D) + mask) v, with q [B,H,Tq,D], k and v [B,H,Tk,D], mask broadcastable to [B,H,Tq,Tk]. */
export function attend(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor): tf.Tensor4D {
  const scale = 1 / Math.sqrt(q.shape[3]);
  const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), scale), mask);
  return tf.matMul(tf.softmax(scores), v);
}

/**
 * Causal self-attention of fused rows qkv [B*T, 3C] (q | k | v, heads inside each) -> [B*T, C].
 * On webgpu (context <= MAX_TIME) four fused kernels; elsewhere split, heads, attend, merge.
 */
export function causalSelfAttention(qkv: tf.Tensor2D, batch: number, nHead: number, mask: tf.Tensor): tf.Tensor2D {
  const time = qkv.shape[0] / batch;
  if (onWebGpu() && time <= MAX_TIME) return causalAttentionFused(qkv, batch, nHead);
  return causalSelfAttentionComposed(qkv, batch, nHead, mask);
}

export function causalSelfAttentionComposed(qkv: tf.Tensor2D, batch: number, nHead: number, mask: tf.Tensor): tf.Tensor2D {
  const time = qkv.shape[0] / batch;
  const [qh, kh, vh] = tf.split(qkv, 3, 1).map((t) => splitHeads(t as tf.Tensor2D, batch, time, nHead));
  return mergeHeads(attend(qh, kh, vh, mask));
}

/** [T, T]: 0 where key position <= query position, MASKED above the diagonal. */
export function causalMask(time: number): tf.Tensor2D {
  const data = new Float32Array(time * time);
  for (let i = 0; i < time; i++) for (let j = i + 1; j < time; j++) data[i * time + j] = MASKED;
  return tf.tensor2d(data, [time, time]);
}
