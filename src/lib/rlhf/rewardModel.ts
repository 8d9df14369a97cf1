/**
 * The reward model (InstructGPT stage 2): the SFT model with its unembedding replaced by a scalar
 * head, r(x, y) = w · h_last + b, read at the last response token. The same class serves as PPO's
 * value model, V(s_t) = w · h_t + b at every position (the paper initialises it from the RM).
 */
import * as tf from '@tensorflow/tfjs';
import { yieldToEventLoop } from '../train/parts';
import type { Checkpoint } from '../model/checkpoint';
import { modelFromCheckpoint, REWARD_HEAD_NAMES } from '../model/checkpoint';
import type { GPT } from '../model/gpt';
import { oneHotFloat } from '../model/layers';
import { Rng } from '../data/rng';
import { packSequences, sequenceTensors, disposeSequenceTensors, type TokenPair } from './sequences';

export class RewardModel {
  readonly trunk: GPT;
  readonly w: tf.Variable; // [C]
  readonly b: tf.Variable; // scalar

  private constructor(trunk: GPT, w: tf.Tensor, b: tf.Tensor, trainable: boolean) {
    this.trunk = trunk;
    this.w = tf.variable(w, trainable);
    this.b = tf.variable(b, trainable);
  }

  /** A clone of `policy` as the trunk and a fresh head: w ~ N(0, 1/sqrt(d_model + 1)), b = 0. */
  static fromPolicy(policy: GPT, seed: number): RewardModel {
    const C = policy.config.nEmbd;
    return withTensors(
      [tf.randomNormal([C], 0, 1 / Math.sqrt(C + 1), 'float32', new Rng(seed).seed()), tf.scalar(0)],
      (w, b) => new RewardModel(policy.clone(true), w, b, true),
    );
  }

  /** A trunk (taken over, not copied) and head values. */
  static fromParts(trunk: GPT, w: tf.Tensor, b: tf.Tensor, trainable = true): RewardModel {
    return new RewardModel(trunk, w, b, trainable);
  }

  /** A reward model saved with checkpointOf(rm.trunk, tokenizer, 'reward', rm.headTensors()). */
  static fromCheckpoint(ckpt: Checkpoint): RewardModel {
    const w = ckpt.tensors.get(REWARD_HEAD_NAMES.w);
    const b = ckpt.tensors.get(REWARD_HEAD_NAMES.b);
    if (!w || !b) throw new Error(`this checkpoint has no reward head (${REWARD_HEAD_NAMES.w}, ${REWARD_HEAD_NAMES.b})`);
    if (w.shape.join() !== String(ckpt.config.nEmbd))
      throw new Error(`${REWARD_HEAD_NAMES.w} has shape [${w.shape}], expected [${ckpt.config.nEmbd}]`);
    return withTensors(
      [tf.tensor1d(w.data), tf.scalar(b.data[0] ?? 0)],
      (wt, bt) => new RewardModel(modelFromCheckpoint(ckpt), wt, bt, true),
    );
  }

  /** Final hidden states at lastIndex: sum_t oneHot(lastIndex)_t * h_t -> [N, C] (no gather with batchDims). */
  private hiddenAt(ids: tf.Tensor2D, lastIndex: tf.Tensor1D): tf.Tensor2D {
    const hidden = this.trunk.hidden(ids); // [N, T, C]
    const at = oneHotFloat(tf.cast(lastIndex, 'int32') as tf.Tensor1D, ids.shape[1]); // [N, T]; not tf.oneHot's dtype argument (wrong on wasm)
    return tf.sum(tf.mul(hidden, tf.expandDims(at, 2)), 1) as tf.Tensor2D;
  }

  /** r(x, y) = w · h[lastIndex] + b for ids [N, T] -> [N]. */
  scores(ids: tf.Tensor2D, lastIndex: tf.Tensor1D): tf.Tensor1D {
    return tf.tidy(() => {
      const h = this.hiddenAt(ids, lastIndex);
      return tf.add(tf.reshape(tf.matMul(h, tf.reshape(this.w, [-1, 1])), [-1]), this.b) as tf.Tensor1D;
    });
  }

  /** Per-position values w · h_t + b for ids [N, T] -> [N, T]. */
  values(ids: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const [rows, time] = ids.shape;
      const hidden = tf.reshape(this.trunk.hidden(ids), [rows * time, this.trunk.config.nEmbd]) as tf.Tensor2D;
      return tf.reshape(tf.add(tf.matMul(hidden, tf.reshape(this.w, [-1, 1])), this.b), [rows, time]) as tf.Tensor2D;
    });
  }

  clone(trainable = true): RewardModel {
    return new RewardModel(this.trunk.clone(trainable), this.w, this.b, trainable);
  }

  copyFrom(other: RewardModel): void {
    this.trunk.copyFrom(other.trunk);
    this.w.assign(other.w);
    this.b.assign(other.b);
  }

  variables(): tf.Variable[] {
    return [...this.trunk.variables(), this.w, this.b];
  }

  /** The head's tensors under their checkpoint names (reward.w, reward.b); still owned by the model. */
  headTensors(): Map<string, tf.Tensor> {
    return new Map<string, tf.Tensor>([
      [REWARD_HEAD_NAMES.w, this.w],
      [REWARD_HEAD_NAMES.b, this.b],
    ]);
  }

  /** Shifts the bias so that demonstrations, which scored `demoScoresMean`, now score mean 0 (paper §3.5). */
  normalise(demoScoresMean: number): void {
    tf.tidy(() => this.b.assign(tf.sub(this.b, demoScoresMean)));
  }

  dispose(): void {
    this.trunk.dispose();
    this.w.dispose();
    this.b.dispose();
  }
}

/** Builds something from temporary head tensors, then frees them (the variables hold their own reference). */
export function withTensors<R>(tensors: [tf.Tensor, tf.Tensor], build: (w: tf.Tensor, b: tf.Tensor) => R): R {
  try {
    return build(...tensors);
  } finally {
    tf.dispose(tensors);
  }
}

/**
 * Scores of many (prompt, response) pairs, `rows` at a time in fixed [rows, time] batches (the
 * last one padded with dummies), read back in one sync per batch.
 */
export async function scorePairs(rm: RewardModel, pairs: TokenPair[], time: number, eosId: number, rows: number): Promise<number[]> {
  const scores: number[] = [];
  for (let start = 0; start < pairs.length; start += rows) {
    const chunk = pairs.slice(start, start + rows);
    const batch = sequenceTensors(packSequences(chunk, time, eosId, rows));
    const s = rm.scores(batch.ids, batch.lastIndex);
    const values = await s.data();
    s.dispose();
    disposeSequenceTensors(batch);
    scores.push(...Array.from(values.subarray(0, chunk.length)));
    if (start + rows < pairs.length) await yieldToEventLoop(); // many held-out pairs are seconds of work on wasm
  }
  return scores;
}
