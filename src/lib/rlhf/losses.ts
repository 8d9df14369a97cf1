/**
 * The losses: the reward model's ranking loss (InstructGPT Eq. 1), DPO's on the same rankings, and PPO's over
 * response tokens (as TRL's PPOTrainer computes them): the clipped policy loss, the clipped value loss, masked
 * reductions, and per-token entropy. All differentiable; mask is 1 on response tokens and 0 on padding.
 */
import * as tf from '@tensorflow/tfjs';

/** r_w - r_l for every pair: rewards [N], pair matrix [P, N] (rankings.ts pairMatrix) -> [P]. A matMul: differentiable everywhere. */
export function pairDiffs(rewards: tf.Tensor1D, matrix: tf.Tensor2D): tf.Tensor1D {
  if (rewards.shape[0] !== matrix.shape[1])
    throw new Error(`pairDiffs: ${rewards.shape[0]} rewards for rankings of ${matrix.shape[1]} completions in all`);
  return tf.reshape(tf.matMul(matrix, tf.reshape(rewards, [-1, 1])), [-1]);
}

/**
 * InstructGPT Eq. 1, averaged over rankings:
 *   loss(theta) = -1/C(K,2) * E_{(x, y_w, y_l)} [ log sigmoid(r_theta(x, y_w) - r_theta(x, y_l)) ]
 * from diffs = r_w - r_l and the pair weights 1 / (rankings * C(K_i, 2)). Written as softplus(-d) =
 * -log sigmoid(d): tf.logSigmoid's gradient reads its input after a tf.tidy has freed it (throws on wasm).
 */
export function rankingLoss(diffs: tf.Tensor1D, pairWeights: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.mul(tf.softplus(tf.neg(diffs)), pairWeights));
}

/**
 * DPO (Rafailov et al. 2023) on K-way rankings, every pair of a ranking in the batch and each ranking weighted
 * 1/C(K,2) as in Eq. 1, with pi_ref the frozen reference:
 *   r(x, y) = beta * (log pi(y|x) - log pi_ref(y|x))           the implicit reward of each completion
 *   h       = r(x, y_w) - r(x, y_l)                             per pair (pairDiffs)
 *   loss    = sum_p w_p [ (1 - eps) * -log sigmoid(h_p) + eps * -log sigmoid(-h_p) ]
 * eps is label smoothing (conservative DPO, TRL's label_smoothing: the share of pairs taken as mislabelled); eps = 0
 * is DPO's loss -log sigmoid(beta * [(log pi(y_w|x) - log pi_ref(y_w|x)) - (log pi(y_l|x) - log pi_ref(y_l|x))]).
 * logps, refLogps [N]: summed log-probabilities of the response tokens; pairs [P, N] and pairWeights [P] from
 * rankings.ts pairMatrix; refLogps are data (the frozen reference).
 */
export function dpoLoss(
  logps: tf.Tensor1D,
  refLogps: tf.Tensor1D,
  pairs: tf.Tensor2D,
  pairWeights: tf.Tensor1D,
  beta: number,
  labelSmoothing = 0,
): { loss: tf.Scalar; rewards: tf.Tensor1D; diffs: tf.Tensor1D } {
  const rewards = tf.mul(beta, tf.sub(logps, refLogps)) as tf.Tensor1D;
  const diffs = pairDiffs(rewards, pairs);
  const preferred = tf.mul(1 - labelSmoothing, rankingLoss(diffs, pairWeights));
  const flipped = tf.mul(labelSmoothing, rankingLoss(tf.neg(diffs), pairWeights));
  return { loss: tf.add(preferred, flipped) as tf.Scalar, rewards, diffs };
}

/** sum(x * m). x, mask: same shape; axis as in tf.sum. */
export function maskedSum(x: tf.Tensor, mask: tf.Tensor, axis?: number | number[]): tf.Tensor {
  return tf.tidy(() => tf.sum(tf.mul(x, tf.cast(mask, 'float32')), axis));
}

/** sum(x * m) / sum(m); 0 (not NaN) where the mask is empty. */
export function maskedMean(x: tf.Tensor, mask: tf.Tensor, axis?: number | number[]): tf.Tensor {
  return tf.tidy(() => {
    const count = tf.sum(tf.cast(mask, 'float32'), axis);
    return tf.div(maskedSum(x, mask, axis), tf.maximum(count, 1e-8));
  });
}

/** x where mask > 0, else 0: keeps NaN/Inf in padding from reaching a masked mean. */
function zeroPadding<T extends tf.Tensor>(x: T, mask: tf.Tensor): T {
  return tf.where(tf.greater(mask, 0), x, tf.zerosLike(x));
}

/**
 * PPO clipped surrogate. logp, oldLogp, advantages, mask: [B, T].
 *   ratio     = exp(logp - oldLogp)
 *   pg_loss1  = -A * ratio
 *   pg_loss2  = -A * clip(ratio, 1 - eps, 1 + eps)
 *   loss      = masked_mean(max(pg_loss1, pg_loss2))
 *   clipFrac  = masked_mean(pg_loss2 > pg_loss1)
 *   approxKl  = 0.5 * masked_mean((logp - oldLogp)^2)
 * Gradients flow through logp only (oldLogp and advantages are data).
 */
export function clippedPolicyLoss(
  logp: tf.Tensor2D,
  oldLogp: tf.Tensor2D,
  advantages: tf.Tensor2D,
  mask: tf.Tensor2D,
  clipRange: number,
): { loss: tf.Scalar; clipFrac: tf.Scalar; approxKl: tf.Scalar } {
  return tf.tidy(() => {
    const logRatio = zeroPadding(tf.sub(logp, oldLogp), mask); // padding: ratio 1, never Inf
    const ratio = tf.exp(logRatio);
    const adv = zeroPadding(advantages, mask);
    const pgLoss1 = tf.mul(tf.neg(adv), ratio);
    const pgLoss2 = tf.mul(tf.neg(adv), tf.clipByValue(ratio, 1 - clipRange, 1 + clipRange));
    const loss = maskedMean(tf.maximum(pgLoss1, pgLoss2), mask) as tf.Scalar;
    const clipFrac = maskedMean(tf.cast(tf.greater(pgLoss2, pgLoss1), 'float32'), mask) as tf.Scalar;
    const approxKl = tf.mul(0.5, maskedMean(tf.square(logRatio), mask)) as tf.Scalar;
    return { loss, clipFrac, approxKl };
  });
}

/**
 * PPO clipped value loss. values, oldValues, returns, mask: [B, T].
 *   v_clipped = oldValues + clip(values - oldValues, -eps, eps)
 *   loss      = 0.5 * masked_mean(max((values - R)^2, (v_clipped - R)^2))
 *   clipFrac  = masked_mean((v_clipped - R)^2 > (values - R)^2)
 */
export function clippedValueLoss(
  values: tf.Tensor2D,
  oldValues: tf.Tensor2D,
  returns: tf.Tensor2D,
  mask: tf.Tensor2D,
  clipRangeValue: number,
): { loss: tf.Scalar; clipFrac: tf.Scalar } {
  return tf.tidy(() => {
    const valuesClipped = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -clipRangeValue, clipRangeValue));
    const vfLoss1 = zeroPadding(tf.square(tf.sub(values, returns)), mask);
    const vfLoss2 = zeroPadding(tf.square(tf.sub(valuesClipped, returns)), mask);
    const loss = tf.mul(0.5, maskedMean(tf.maximum(vfLoss1, vfLoss2), mask)) as tf.Scalar;
    const clipFrac = maskedMean(tf.cast(tf.greater(vfLoss2, vfLoss1), 'float32'), mask) as tf.Scalar;
    return { loss, clipFrac };
  });
}

/**
 * Per-token entropy of softmax(logits). logits [B, T, V] -> [B, T]
 *   H = -sum_v p_v log p_v,  log p = logSoftmax(logits)
 */
export function entropyFromLogits(logits: tf.Tensor3D): tf.Tensor2D {
  return tf.tidy(() => {
    const logProbs = tf.logSoftmax(logits);
    return tf.neg(tf.sum(tf.mul(tf.exp(logProbs), logProbs), -1)) as tf.Tensor2D;
  });
}
