/**
 * Generalised advantage estimation (Schulman et al. 2016) for the PPO stage, and
 * masked whitening (TRL's masked_whiten).
 *
 * The RLHF episode is a contextual bandit: one response, then the episode ends, so
 * the value after the last response token is 0 (no bootstrap).
 */
import * as tf from '@tensorflow/tfjs';

const WHITEN_EPS = 1e-8;

/**
 * GAE on plain arrays, one row per sequence (rows may differ in length).
 * rewards[b][t], values[b][t] for the response tokens t = 0..T_b-1.
 *   delta_t = r_t + gamma * V_{t+1} - V_t        (V_{T_b} = 0)
 *   A_t     = delta_t + gamma * lambda * A_{t+1}  (A_{T_b} = 0)
 *   R_t     = A_t + V_t
 */
export function gae(
  rewards: number[][],
  values: number[][],
  gamma: number,
  lambda: number,
): { advantages: number[][]; returns: number[][] } {
  if (rewards.length !== values.length) {
    throw new Error(`gae: ${rewards.length} reward rows but ${values.length} value rows`);
  }
  const advantages = rewards.map((row, b) => gaeRow(row, values[b], gamma, lambda, b));
  const returns = advantages.map((row, b) => row.map((a, t) => a + values[b][t]));
  return { advantages, returns };
}

function gaeRow(rewards: number[], values: number[], gamma: number, lambda: number, b: number): number[] {
  if (rewards.length !== values.length) {
    throw new Error(`gae: row ${b} has ${rewards.length} rewards but ${values.length} values`);
  }
  const advantages = new Array<number>(rewards.length);
  let nextValue = 0; // contextual bandit: nothing after the last token
  let nextAdvantage = 0;
  for (let t = rewards.length - 1; t >= 0; t--) {
    const delta = rewards[t] + gamma * nextValue - values[t];
    nextAdvantage = delta + gamma * lambda * nextAdvantage;
    advantages[t] = nextAdvantage;
    nextValue = values[t];
  }
  return advantages;
}

/**
 * GAE on padded tensors. rewards, values, mask: [B, T]; mask is 1 on response tokens
 * (one contiguous run per row) and 0 on padding. Rewards and values under mask 0 are
 * ignored; the value after the last response token is 0.
 * Returns advantages, returns: [B, T], both 0 on padding.
 *   delta_t = m_t * (r_t + gamma * m_{t+1} V_{t+1} - V_t)
 *   A_t     = m_t * (delta_t + gamma * lambda * A_{t+1})
 *   R_t     = m_t * (A_t + V_t)
 */
export function gaeTensor(
  rewards: tf.Tensor2D,
  values: tf.Tensor2D,
  mask: tf.Tensor2D,
  gamma: number,
  lambda: number,
): { advantages: tf.Tensor2D; returns: tf.Tensor2D } {
  const [batch, steps] = mask.shape;
  return tf.tidy(() => {
    const m: tf.Tensor2D = tf.cast(mask, 'float32');
    const r: tf.Tensor2D = tf.mul(rewards, m); // padding rewards -> 0
    const v: tf.Tensor2D = tf.mul(values, m); // padding values -> 0, so V after the last token is 0
    const columns = (x: tf.Tensor2D, t: number): tf.Tensor2D => tf.slice(x, [0, t], [batch, 1]);
    const reversed: tf.Tensor2D[] = [];
    let nextValue: tf.Tensor2D = tf.zeros([batch, 1]);
    let nextAdvantage: tf.Tensor2D = tf.zeros([batch, 1]);
    for (let t = steps - 1; t >= 0; t--) {
      const mt = columns(m, t);
      const vt = columns(v, t);
      const delta = tf.sub(tf.add(columns(r, t), tf.mul(gamma, nextValue)), vt);
      nextAdvantage = tf.mul(mt, tf.add(delta, tf.mul(gamma * lambda, nextAdvantage)));
      reversed.push(nextAdvantage);
      nextValue = vt;
    }
    const advantages = tf.concat(reversed.reverse(), 1) as tf.Tensor2D;
    const returns = tf.mul(tf.add(advantages, v), m) as tf.Tensor2D;
    return { advantages, returns };
  });
}

/**
 * Masked whitening (TRL masked_whiten): over the entries with mask 1,
 *   mean = sum(m x) / sum(m),  var = sum(m (x - mean)^2) / (sum(m) - 1)   (unbiased)
 *   out  = (x - mean) / sqrt(var + 1e-8)   (+ mean again when shiftMean is false)
 * Padding does not enter the statistics and is 0 in the output. x, mask: same shape.
 */
export function whiten(x: tf.Tensor, mask: tf.Tensor, shiftMean = true): tf.Tensor {
  return tf.tidy(() => {
    const m = tf.cast(mask, 'float32');
    const count = tf.sum(m);
    const mean = tf.div(tf.sum(tf.mul(x, m)), tf.maximum(count, 1));
    const centred = tf.sub(x, mean);
    const sumSquares = tf.sum(tf.mul(tf.square(centred), m));
    const variance = tf.div(sumSquares, tf.maximum(tf.sub(count, 1), 1)); // Bessel's n - 1
    let whitened = tf.mul(centred, tf.rsqrt(tf.add(variance, WHITEN_EPS)));
    if (!shiftMean) whitened = tf.add(whitened, mean);
    return tf.mul(whitened, m);
  });
}

/** whiten() for plain numbers: mean 0, unbiased std 1. */
export function whitenArray(xs: number[], shiftMean = true): number[] {
  if (xs.length === 0) return [];
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  const sumSquares = xs.reduce((s, x) => s + (x - mean) ** 2, 0);
  const variance = sumSquares / Math.max(xs.length - 1, 1);
  const scale = 1 / Math.sqrt(variance + WHITEN_EPS);
  return xs.map((x) => (x - mean) * scale + (shiftMean ? 0 : mean));
}
