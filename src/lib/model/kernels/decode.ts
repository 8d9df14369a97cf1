/**
 * One cached decoding step on WebGPU without per-step uploads: the position travels as a uniform.
 * Per layer, the new key and value rows are written into the caches (a copy with one row replaced,
 * in one dispatch each, instead of a one-hot blend of four ops) and one dispatch attends the
 * query to positions <= position (no visibility mask). Sampling draws on the GPU too.
 */
import * as tf from '@tensorflow/tfjs';
import { perElement, program, registerWgsl, runWgsl, WORKGROUP, WORKGROUP_SUM } from './program';
import { MAX_TIME } from './attention';

const CACHE_UNIFORMS = 'position : i32, part : i32, heads : i32, time : i32, headDim : i32,';

function cacheUniforms(position: number, part: number, cache: tf.TensorInfo) {
  const [, heads, time, headDim] = cache.shape;
  return [position, part, heads, time, headDim].map((x) => ({ type: 'int32' as const, data: [x] }));
}

/** cache [B, H, T, D] with row `position` replaced by part `part` (1 = k, 2 = v) of qkv [B, 3C]. */
registerWgsl(
  'RlhfKvWrite',
  ([cache], { position, part }) => {
    const code = `
    fn main(index : i32) {
      if (index < uniforms.size) {
        let D = uniforms.headDim;
        let t = (index / D) % uniforms.time;
        let h = (index / (D * uniforms.time)) % uniforms.heads;
        let b = index / (D * uniforms.time * uniforms.heads);
        let C = uniforms.heads * D;
        result[index] = select(cache[index], qkv[b * 3 * C + uniforms.part * C + h * D + index % D], t == uniforms.position);
      }
    }`;
    return {
      program: program('rlhf_kv_write', ['cache', 'qkv'], cache.shape, CACHE_UNIFORMS, code, perElement(cache.shape)),
      uniforms: cacheUniforms(position, part, cache),
    };
  },
  ['cache', 'qkv'],
);

/** y [B, C]: the query row of qkv [B, 3C] attending to cached positions 0..position; a workgroup per (b, h). */
registerWgsl(
  'RlhfDecodeAttention',
  ([_qkv, keys], { position }) => {
    const [batch, heads, , headDim] = keys.shape;
    const code = `
    ${WORKGROUP_SUM}
    var<workgroup> weights : array<f32, ${MAX_TIME}>;
    fn main(index : i32) {
      let group = index / ${WORKGROUP};
      let tid = i32(localId.x);
      let h = group % uniforms.heads;
      let b = group / uniforms.heads;
      let D = uniforms.headDim;
      let T = uniforms.time;
      let q = b * 3 * uniforms.heads * D + h * D;
      let kv = (b * uniforms.heads + h) * T * D;
      let scale = inverseSqrt(f32(D));
      var rowMax = -3.0e38;
      for (var j = tid; j <= uniforms.position; j += ${WORKGROUP}) {
        var s = 0.0;
        for (var d = 0; d < D; d++) { s += qkv[q + d] * keys[kv + j * D + d]; }
        weights[j] = s * scale;
        rowMax = max(rowMax, weights[j]);
      }
      rowMax = workgroupMax(rowMax, tid);
      var z = 0.0;
      for (var j = tid; j <= uniforms.position; j += ${WORKGROUP}) { weights[j] = exp(weights[j] - rowMax); z += weights[j]; }
      z = workgroupSum(z, tid);
      workgroupBarrier();
      for (var d = tid; d < D; d += ${WORKGROUP}) {
        var y = 0.0;
        for (var j = 0; j <= uniforms.position; j++) { y += weights[j] * values[kv + j * D + d]; }
        result[(b * uniforms.heads + h) * D + d] = y / z;
      }
    }`;
    return {
      program: program('rlhf_decode_attention', ['qkv', 'keys', 'values'], [batch, heads * headDim], CACHE_UNIFORMS, code, batch * heads),
      uniforms: cacheUniforms(position, 0, keys),
    };
  },
  ['qkv', 'keys', 'values'],
);

/**
 * Next token of each row [B] (int32): the prompt's token where the row is still inside its prompt,
 * else Gumbel-max over logits / temperature (argmax when temperature is 0), with a hash of
 * (seed, row, token) for the noise. A workgroup per row.
 */
registerWgsl(
  'RlhfSampleToken',
  ([logits, ids], { position, seed, temperature }) => {
    const [batch, vocab] = logits.shape;
    const code = `
    var<workgroup> bestKey : array<f32, ${WORKGROUP}>;
    var<workgroup> bestIndex : array<i32, ${WORKGROUP}>;
    fn pcg(v : u32) -> u32 {
      let state = v * 747796405u + 2891336453u;
      let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
      return (word >> 22u) ^ word;
    }
    fn gumbel(row : i32, v : i32) -> f32 {
      let h = pcg(pcg(bitcast<u32>(uniforms.seed) ^ (u32(row) * 2654435769u)) + u32(v));
      let u = (f32(h >> 8u) + 0.5) / 16777216.0;
      return -log(-log(u));
    }
    fn main(index : i32) {
      let row = index / ${WORKGROUP};
      let tid = i32(localId.x);
      var key = -3.0e38;
      var best = 0;
      for (var v = tid; v < uniforms.vocab; v += ${WORKGROUP}) {
        let l = logits[row * uniforms.vocab + v];
        let k = select(l, l / uniforms.temperature + gumbel(row, v), uniforms.temperature > 0.0);
        if (k > key) { key = k; best = v; }
      }
      bestKey[tid] = key;
      bestIndex[tid] = best;
      workgroupBarrier();
      for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride >> 1) {
        if (tid < stride) {
          let other = bestKey[tid + stride];
          let otherIndex = bestIndex[tid + stride];
          if (other > bestKey[tid] || (other == bestKey[tid] && otherIndex < bestIndex[tid])) {
            bestKey[tid] = other;
            bestIndex[tid] = otherIndex;
          }
        }
        workgroupBarrier();
      }
      if (tid == 0) {
        let at = row * uniforms.time + uniforms.position;
        result[row] = select(bestIndex[0], ids[at], promptMask[at] == 1);
      }
    }`;
    const uniforms = [
      { type: 'int32' as const, data: [vocab] },
      { type: 'int32' as const, data: [ids.shape[1]] },
      { type: 'int32' as const, data: [position] },
      { type: 'int32' as const, data: [seed | 0] },
      { type: 'float32' as const, data: [temperature] },
    ];
    return {
      program: program(
        'rlhf_sample_token',
        ['logits', 'ids', 'promptMask'],
        [batch],
        'vocab : i32, time : i32, position : i32, seed : i32, temperature : f32,',
        code,
        batch,
      ),
      uniforms,
      dtype: 'int32',
    };
  },
  ['logits', 'ids', 'promptMask'],
);

/** Caches with row `position` written from qkv [B, 3C]. */
export function writeKv(keys: tf.Tensor4D, values: tf.Tensor4D, qkv: tf.Tensor2D, position: number): [tf.Tensor4D, tf.Tensor4D] {
  return [
    runWgsl<tf.Tensor4D>('RlhfKvWrite', { cache: keys, qkv }, { position, part: 1 }),
    runWgsl<tf.Tensor4D>('RlhfKvWrite', { cache: values, qkv }, { position, part: 2 }),
  ];
}

export function decodeAttention(qkv: tf.Tensor2D, keys: tf.Tensor4D, values: tf.Tensor4D, position: number): tf.Tensor2D {
  return runWgsl<tf.Tensor2D>('RlhfDecodeAttention', { qkv, keys, values }, { position });
}

/** Tokens [B] for step `position`: forced from ids/promptMask [B, T] inside a prompt, else drawn from logits [B, V]. */
export function sampleTokenFused(
  logits: tf.Tensor2D,
  ids: tf.Tensor2D,
  promptMask: tf.Tensor2D,
  position: number,
  seed: number,
  temperature: number,
): tf.Tensor1D {
  return runWgsl<tf.Tensor1D>('RlhfSampleToken', { logits, ids, promptMask }, { position, seed, temperature });
}
