/**
 * The KL penalty of the PPO stage: per-token estimators of KL(pi_RL || pi_SFT),
 * per-token rewards (score at the last response token minus beta * KL everywhere),
 * and the adaptive / fixed KL coefficient controllers.
 */
import * as tf from '@tensorflow/tfjs';

export type KlEstimator = 'k1' | 'k3';

/** k1 = log pi(y) - log pi_ref(y): unbiased, can be negative per token. */
export function klK1<T extends tf.Tensor>(logp: T, logpRef: T): T {
  return tf.sub(logp, logpRef);
}

/**
 * k3 = (r - 1) - log r with r = pi_ref(y) / pi(y) = exp(logpRef - logp):
 * unbiased, lower variance, and always >= 0 (since log r <= r - 1).
 */
export function klK3<T extends tf.Tensor>(logp: T, logpRef: T): T {
  return tf.tidy(() => {
    const logRatio = tf.sub(logpRef, logp); // log r
    return tf.sub(tf.sub(tf.exp(logRatio), 1), logRatio) as T;
  });
}

export function klPerToken<T extends tf.Tensor>(estimator: KlEstimator, logp: T, logpRef: T): T {
  switch (estimator) {
    case 'k1':
      return klK1(logp, logpRef);
    case 'k3':
      return klK3(logp, logpRef);
    default:
      throw new Error(`unknown KL estimator ${String(estimator)}`);
  }
}

/**
 * Per row of a batch: the k3 estimate of KL(pi_RL || pi_SFT) summed over its response tokens (mask [B, T]), never
 * negative: what one sample's KL badge shows, where one sample's k1 sum can fall below zero.
 */
export function klK3PerSequence(logp: tf.Tensor2D, logpRef: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const m = tf.cast(mask, 'float32');
    const k3 = tf.where(tf.greater(m, 0), klK3(logp, logpRef), tf.zerosLike(logp)); // padding's log-probs may be anything
    return tf.sum(tf.mul(k3, m), 1) as tf.Tensor1D;
  });
}

/**
 * Per-token rewards of a batch of responses.
 * score [B]: reward-model score of each response; logp, logpRef, mask [B, T];
 * lastIndex [B]: position in T of each row's last response token (the EOS where there is one).
 *   kl_t       = m_t * KL_t                      (KL_t from the estimator)
 *   nonScore_t = -beta * kl_t
 *   reward_t   = nonScore_t + score * [t == lastIndex]
 * Returns rewards, nonScore, kl: [B, T], 0 on padding. A lastIndex outside 0..T-1
 * gives that row no score (oneHot of it is all zeros).
 */
export function perTokenRewards(
  score: tf.Tensor1D,
  logp: tf.Tensor2D,
  logpRef: tf.Tensor2D,
  mask: tf.Tensor2D,
  lastIndex: tf.Tensor1D | number[],
  klCoef: number,
  estimator: KlEstimator,
): { rewards: tf.Tensor2D; nonScore: tf.Tensor2D; kl: tf.Tensor2D } {
  const steps = mask.shape[1];
  return tf.tidy(() => {
    const m = tf.cast(mask, 'float32');
    const kl = tf.mul(tf.where(tf.greater(m, 0), klPerToken(estimator, logp, logpRef), tf.zerosLike(logp)), m) as tf.Tensor2D;
    const nonScore = tf.mul(kl, -klCoef) as tf.Tensor2D;
    const lastIdx = Array.isArray(lastIndex) ? tf.tensor1d(lastIndex, 'int32') : tf.cast(lastIndex, 'int32');
    const atLast = tf.cast(tf.oneHot(lastIdx as tf.Tensor1D, steps), 'float32'); // [B, T], 1 at lastIndex
    const rewards = tf.add(nonScore, tf.mul(atLast, tf.reshape(score, [-1, 1]))) as tf.Tensor2D;
    return { rewards, nonScore, kl };
  });
}

// ---------------------------------------------------------------------------
// KL coefficient controllers

export interface KlController {
  /** the current KL coefficient beta */
  value: number;
  update(currentKl: number, nSteps: number): void;
}

/**
 * Ziegler et al. (2019), adaptive beta:
 *   err  = clip(KL / target - 1, -0.2, 0.2)
 *   beta = beta * (1 + err * nSteps / horizon)
 */
export class AdaptiveKlController implements KlController {
  value: number;
  readonly target: number;
  readonly horizon: number;

  constructor(initKlCoef: number, target: number, horizon: number) {
    if (!(target > 0) || !(horizon > 0)) throw new Error('AdaptiveKlController: target and horizon must be > 0');
    this.value = initKlCoef;
    this.target = target;
    this.horizon = horizon;
  }

  update(currentKl: number, nSteps: number): void {
    if (!Number.isFinite(currentKl)) return; // a NaN KL must not poison beta
    const err = Math.min(Math.max(currentKl / this.target - 1, -0.2), 0.2);
    this.value *= 1 + (err * nSteps) / this.horizon;
  }
}

/** Constant beta (the InstructGPT paper: 0.02). */
export class FixedKlController implements KlController {
  value: number;

  constructor(klCoef: number) {
    this.value = klCoef;
  }

  update(_currentKl: number, _nSteps: number): void {}
}
