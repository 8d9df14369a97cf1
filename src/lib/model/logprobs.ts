/** Per-token log-probabilities and the language-modelling loss built on them. */
import * as tf from '@tensorflow/tfjs';
import type { GPT } from './gpt';
import { oneHotFloat } from './layers';
import { onWebGpu } from './kernels/program';
import { tokenLogProbsFused } from './kernels/crossEntropy';

/**
 * log pi(targets[b, t] | context) for logits [B, T, V] and targets [B, T], at a sampling temperature:
 * sum(oneHot(targets) * logSoftmax(logits / T), -1) -> [B, T]. (No gather with batchDims: its gradient loops over the batch.)
 */
export function logProbsAt(logits: tf.Tensor3D, targets: tf.Tensor2D, temperature = 1): tf.Tensor2D {
  if (onWebGpu()) return logProbsAtFused(logits, targets, temperature);
  return logProbsAtComposed(logits, targets, temperature);
}

export function logProbsAtComposed(logits: tf.Tensor3D, targets: tf.Tensor2D, temperature = 1): tf.Tensor2D {
  return tf.tidy(() => {
    const vocabSize = logits.shape[2];
    const scaled = temperature === 1 ? logits : tf.div(logits, temperature);
    return tf.sum(tf.mul(oneHotFloat(targets, vocabSize), tf.logSoftmax(scaled)), -1) as tf.Tensor2D;
  });
}

/** The same on webgpu: one fused kernel over rows of the vocabulary (kernels/crossEntropy.ts). */
function logProbsAtFused(logits: tf.Tensor3D, targets: tf.Tensor2D, temperature: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, time, vocabSize] = logits.shape;
    const rows = tokenLogProbsFused(
      tf.reshape(logits, [batch * time, vocabSize]),
      tf.reshape(tf.cast(targets, 'int32'), [batch * time]),
      temperature,
    );
    return tf.reshape(rows, [batch, time]) as tf.Tensor2D;
  });
}

/** log pi(ids[:, t+1] | ids[:, <= t]) for token ids [B, T] -> [B, T-1], batched, at a temperature. */
export function logProbsOfTokens(model: GPT, ids: tf.Tensor2D, temperature = 1): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, time] = ids.shape;
    const logits = model.logits(ids);
    const predicting = tf.slice(logits, [0, 0, 0], [batch, time - 1, model.config.vocabSize]) as tf.Tensor3D;
    return logProbsAt(predicting, tf.slice(ids, [0, 1], [batch, time - 1]) as tf.Tensor2D, temperature);
  });
}

/**
 * log pi(y|x) = sum_t mask[b, t] * log pi(targets[b, t] | ids[b, <= t]): a sequence's summed log-probability over the
 * masked tokens (its response), for ids, targets, mask [B, T] -> [B].
 */
export function summedLogProbs(model: GPT, ids: tf.Tensor2D, targets: tf.Tensor2D, mask: tf.Tensor2D, temperature = 1): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(logProbsAt(model.logits(ids), targets, temperature), mask), 1) as tf.Tensor1D);
}

/**
 * Mean next-token cross-entropy of inputs x [B, T] against targets y [B, T].
 * `weights` [B, T] (1 = counts, 0 = ignored) restricts it, e.g. to response tokens in SFT.
 */
export function lmLoss(model: GPT, x: tf.Tensor2D, y: tf.Tensor2D, weights?: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const logProbs = logProbsAt(model.logits(x), y);
    if (!weights) return tf.neg(tf.mean(logProbs)) as tf.Scalar;
    return tf.div(tf.neg(tf.sum(tf.mul(logProbs, weights))), tf.maximum(tf.sum(weights), 1)) as tf.Scalar;
  });
}
