/**
 * A GPT-style decoder (GPT-2 layout, like nanoGPT's model.py): token + learned position embeddings,
 * pre-LayerNorm blocks of causal multi-head self-attention and a GELU MLP, a final LayerNorm,
 * and an output head tied to the token embedding. No dropout: the models are small and RLHF
 * wants it off anyway.
 */
import * as tf from '@tensorflow/tfjs';
import { type ModelConfig, parameterShapes } from './config';
import {
  attend,
  causalMask,
  causalSelfAttention,
  embed,
  layerNorm,
  linear,
  linearGelu,
  matMulTransposed,
  mergeHeads,
  oneHotFloat,
  splitHeads,
} from './layers';
import { Rng } from '../data/rng';
import { onWebGpu } from './kernels/program';
import { MAX_TIME } from './kernels/attention';
import { decodeAttention, writeKv } from './kernels/decode';

/** Keys and values of every layer, each [B, H, blockSize, D], for cached decoding. */
export interface KvCache {
  keys: tf.Tensor4D[];
  values: tf.Tensor4D[];
}

let instanceCount = 0;

export class GPT {
  readonly config: ModelConfig;
  readonly params: Map<string, tf.Variable>;
  private readonly masks = new Map<number, tf.Tensor2D>();

  private constructor(config: ModelConfig, values: Map<string, tf.Tensor>, trainable: boolean) {
    this.config = config;
    const prefix = `gpt${instanceCount++}/`;
    this.params = new Map();
    for (const [name] of parameterShapes(config)) {
      const value = values.get(name);
      if (!value) throw new Error(`missing parameter ${name}`);
      this.params.set(name, tf.variable(value, trainable, prefix + name));
    }
  }

  /** Fresh weights: N(0, 0.02), residual projections scaled by 1/sqrt(2 * nLayer) (GPT-2). */
  static init(config: ModelConfig, seed: number): GPT {
    const rng = new Rng(seed);
    const residualStd = 0.02 / Math.sqrt(2 * config.nLayer);
    const values = new Map<string, tf.Tensor>();
    for (const [name, shape] of parameterShapes(config)) {
      const leaf = name.split('.').pop()!;
      if (leaf === 'g') values.set(name, tf.ones(shape));
      else if (leaf.startsWith('b')) values.set(name, tf.zeros(shape));
      else {
        const std = leaf === 'wo' || leaf === 'wproj' ? residualStd : 0.02;
        values.set(name, tf.randomNormal(shape, 0, std, 'float32', rng.seed()));
      }
    }
    const model = new GPT(config, values, true);
    values.forEach((t) => t.dispose());
    return model;
  }

  /** A model from given weights (copied). */
  static fromWeights(config: ModelConfig, values: Map<string, tf.Tensor>, trainable = true): GPT {
    return new GPT(config, values, trainable);
  }

  /** An independent copy; `trainable = false` gives a frozen reference model. */
  clone(trainable = true): GPT {
    return new GPT(this.config, this.params, trainable);
  }

  /** Overwrite this model's weights with another's of the same config. */
  copyFrom(other: GPT): void {
    for (const [name, variable] of this.params) variable.assign(other.params.get(name)!);
  }

  variables(): tf.Variable[] {
    return [...this.params.values()];
  }

  dispose(): void {
    this.params.forEach((v) => v.dispose());
    this.masks.forEach((m) => m.dispose());
    this.masks.clear();
  }

  private p(name: string): tf.Variable {
    return this.params.get(name)!;
  }

  private mask(time: number): tf.Tensor2D {
    let m = this.masks.get(time);
    if (!m) {
      m = tf.keep(causalMask(time));
      this.masks.set(time, m);
    }
    return m;
  }

  /** One transformer block on rows x [N, C]; `attention` turns the q | k | v rows [N, 3C] into the attended rows [N, C]. */
  private block(layer: number, x: tf.Tensor2D, attention: (qkv: tf.Tensor2D) => tf.Tensor2D): tf.Tensor2D {
    const p = `h${layer}.`;
    const h = layerNorm(x, this.p(p + 'ln1.g') as tf.Tensor1D, this.p(p + 'ln1.b') as tf.Tensor1D);
    const y = attention(linear(h, this.p(p + 'attn.wqkv') as tf.Tensor2D, this.p(p + 'attn.bqkv') as tf.Tensor1D));
    x = tf.add(x, linear(y, this.p(p + 'attn.wo') as tf.Tensor2D, this.p(p + 'attn.bo') as tf.Tensor1D));
    const h2 = layerNorm(x, this.p(p + 'ln2.g') as tf.Tensor1D, this.p(p + 'ln2.b') as tf.Tensor1D);
    const m = linearGelu(h2, this.p(p + 'mlp.wfc') as tf.Tensor2D, this.p(p + 'mlp.bfc') as tf.Tensor1D);
    return tf.add(x, linear(m, this.p(p + 'mlp.wproj') as tf.Tensor2D, this.p(p + 'mlp.bproj') as tf.Tensor1D));
  }

  private finalNorm(x: tf.Tensor2D): tf.Tensor2D {
    return layerNorm(x, this.p('lnf.g') as tf.Tensor1D, this.p('lnf.b') as tf.Tensor1D);
  }

  /** Logits of rows of final hidden states [N, C] -> [N, V], through the tied head. */
  head(hidden: tf.Tensor2D): tf.Tensor2D {
    return matMulTransposed(hidden, this.p('wte') as tf.Tensor2D);
  }

  /**
   * Final hidden states [B, T, C] for token ids [B, T] (T <= blockSize).
   * With `cache` given, the keys and values of every layer are pushed into it (for cached decoding).
   * Call inside tf.tidy: the intermediate activations are not disposed here.
   */
  hidden(ids: tf.Tensor2D, cache?: KvCache): tf.Tensor3D {
    const [batch, time] = ids.shape;
    const { nHead, nEmbd, blockSize } = this.config;
    if (time > blockSize) throw new Error(`sequence of ${time} tokens is longer than the context (${blockSize})`);
    const tokens = embed(this.p('wte') as tf.Tensor2D, tf.reshape(ids, [batch * time]) as tf.Tensor1D);
    const positions = tf.slice(this.p('wpe'), [0, 0], [time, nEmbd]);
    let x = tf.reshape(tf.add(tf.reshape(tokens, [batch, time, nEmbd]), positions), [batch * time, nEmbd]) as tf.Tensor2D;
    const mask = this.mask(time);
    for (let layer = 0; layer < this.config.nLayer; layer++) {
      x = this.block(layer, x, (qkv) => {
        if (!cache) return causalSelfAttention(qkv, batch, nHead, mask);
        const [qh, kh, vh] = tf.split(qkv, 3, 1).map((t) => splitHeads(t as tf.Tensor2D, batch, time, nHead));
        cache.keys.push(kh);
        cache.values.push(vh);
        return mergeHeads(attend(qh, kh, vh, mask));
      });
    }
    return tf.reshape(this.finalNorm(x), [batch, time, nEmbd]) as tf.Tensor3D;
  }

  /** Logits [B, T, V] for token ids [B, T]. */
  logits(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => {
      const [batch, time] = ids.shape;
      const h = this.hidden(ids);
      return tf.reshape(this.head(tf.reshape(h, [batch * time, this.config.nEmbd])), [batch, time, this.config.vocabSize]);
    });
  }

  /**
   * One cached decoding step: tokens [B] at `position`, given the cache of positions < position.
   * Returns next-token logits [B, V] and the cache with this position written in (fixed shapes:
   * the position is written by a one-hot blend, so every step reuses the same shaders).
   */
  decodeStep(tokens: tf.Tensor1D, position: number, cache: KvCache): { logits: tf.Tensor2D; cache: KvCache } {
    if (onWebGpu() && this.config.blockSize <= MAX_TIME) return this.decodeStepFused(tokens, position, cache);
    const { nHead, nEmbd, blockSize } = this.config;
    const batch = tokens.shape[0];
    const at = tf.reshape(oneHotFloat([position], blockSize), [1, 1, blockSize, 1]);
    const keep = tf.sub(1, at);
    const visible = tf.tensor1d(Array.from({ length: blockSize }, (_, j) => (j <= position ? 0 : -1e9)));
    const next: KvCache = { keys: [], values: [] };
    let x = tf.add(embed(this.p('wte') as tf.Tensor2D, tokens), tf.slice(this.p('wpe'), [position, 0], [1, nEmbd])) as tf.Tensor2D;
    for (let layer = 0; layer < this.config.nLayer; layer++) {
      x = this.block(layer, x, (qkv) => {
        const [qh, kh, vh] = tf.split(qkv, 3, 1).map((t) => splitHeads(t as tf.Tensor2D, batch, 1, nHead));
        const keys = tf.add(tf.mul(cache.keys[layer], keep), tf.mul(kh, at)) as tf.Tensor4D;
        const values = tf.add(tf.mul(cache.values[layer], keep), tf.mul(vh, at)) as tf.Tensor4D;
        next.keys.push(keys);
        next.values.push(values);
        return mergeHeads(attend(qh, keys, values, visible));
      });
    }
    return { logits: this.head(this.finalNorm(x)), cache: next };
  }

  /** decodeStep on webgpu: the position is a uniform of the KV-write and attention kernels, so nothing is uploaded. */
  private decodeStepFused(tokens: tf.Tensor1D, position: number, cache: KvCache): { logits: tf.Tensor2D; cache: KvCache } {
    const next: KvCache = { keys: [], values: [] };
    let x = tf.add(
      embed(this.p('wte') as tf.Tensor2D, tokens),
      tf.slice(this.p('wpe'), [position, 0], [1, this.config.nEmbd]),
    ) as tf.Tensor2D;
    for (let layer = 0; layer < this.config.nLayer; layer++) {
      x = this.block(layer, x, (qkv) => {
        const [keys, values] = writeKv(cache.keys[layer], cache.values[layer], qkv, position);
        next.keys.push(keys);
        next.values.push(values);
        return decodeAttention(qkv, keys, values, position);
      });
    }
    return { logits: this.head(this.finalNorm(x)), cache: next };
  }
}
