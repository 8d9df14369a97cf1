/**
 * PPO-ptx's loss on one minibatch of scored rollouts (rollout.ts), as TRL's PPOTrainer computes it:
 *   loss = pg_loss + vf_coef * vf_loss + ptx_coef * ptx_loss
 * with the clipped policy and value losses of losses.ts over the response tokens and the ptx term of ptx.ts; whole,
 * or its gradient summed over parts (train/parts.ts) so that a long minibatch lets messages through.
 */
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt';
import { logProbsAt } from '../model/logprobs';
import type { AdamW, LossWithMetrics } from '../train/adamw';
import { accumulateSegments, scaledPart, type PartSizer, type Segment } from '../train/parts';
import { clippedPolicyLoss, clippedValueLoss, maskedMean } from './losses';
import type { PpoSettings } from './ppoSettings';
import type { PtxText, PtxWindows } from './ptx';
import type { RewardModel } from './rewardModel';
import type { ScoredRollouts } from './rollout';

/** One minibatch's rollout rows (a short last one is filled with repeated rows that count 0) and ptx windows. */
export interface MinibatchRows {
  rows: number[];
  counts: number[];
  ptx: PtxWindows | null;
}

type LossSettings = Pick<
  PpoSettings,
  'batch_size' | 'mini_batch_size' | 'temperature' | 'cliprange' | 'cliprange_value' | 'vf_coef' | 'ptx_coef'
>;

export class MinibatchLoss {
  constructor(
    private readonly policy: GPT,
    private readonly valueModel: RewardModel,
    private readonly settings: LossSettings,
    private readonly ptx?: PtxText,
  ) {}

  /** Minibatch `m` of the epoch's shuffled order, and its ptx windows (drawn here, once per minibatch). */
  rows(order: number[], m: number, usePtx: boolean): MinibatchRows {
    const { batch_size: size, mini_batch_size: mini } = this.settings;
    const rows = Array.from({ length: mini }, (_, i) => order[(m * mini + i) % size]);
    const counts = rows.map((_, i) => (m * mini + i < size ? 1 : 0));
    return { rows, counts, ptx: usePtx ? this.ptx!.windows() : null };
  }

  /** loss = pg_loss + vf_coef * vf_loss + ptx_coef * ptx_loss for a whole minibatch. */
  whole(r: ScoredRollouts, batch: MinibatchRows): LossWithMetrics {
    const { loss, metrics } = this.rolloutLoss(r, batch.rows, batch.counts);
    if (!batch.ptx) return { loss, metrics };
    const ptxLoss = this.ptx!.loss(this.policy, batch.ptx, 0, batch.rows.length);
    return { loss: tf.add(loss, tf.mul(this.settings.ptx_coef, ptxLoss)) as tf.Scalar, metrics: { ...metrics, 'ptx/loss': ptxLoss } };
  }

  /**
   * pg_loss + vf_coef * vf_loss on rollout rows `rows` (each counting `counts`, 0 or 1), and the mask of their
   * response tokens. Log-probs at the sampling temperature, as when the rollouts were scored.
   */
  rolloutLoss(r: ScoredRollouts, rows: number[], counts: number[]): LossWithMetrics & { mask: tf.Tensor2D } {
    const s = this.settings;
    const index = tf.tensor1d(rows, 'int32');
    const take = <T extends tf.Tensor>(x: T) => tf.gather(x, index) as T; // data rows only: no gradient through gather
    const mask = responseMask(r, index, counts);
    const ids = take(r.batch.ids);
    const logp = logProbsAt(this.policy.logits(ids), take(r.batch.targets), s.temperature);
    const oldLogp = take(r.oldLogp);
    const policy = clippedPolicyLoss(logp, oldLogp, take(r.advantages), mask, s.cliprange);
    const value = clippedValueLoss(this.valueModel.values(ids), take(r.oldValues), take(r.returns), mask, s.cliprange_value);
    const loss = tf.add(policy.loss, tf.mul(s.vf_coef, value.loss)) as tf.Scalar;
    const metrics: Record<string, tf.Scalar> = {
      'loss/policy_avg': policy.loss,
      'loss/value_avg': value.loss,
      'policy/approxkl_avg': policy.approxKl,
      'policy/clipfrac_avg': policy.clipFrac,
      'val/clipfrac_avg': value.clipFrac,
      'val/ratio': maskedMean(tf.exp(tf.sub(logp, oldLogp)), mask) as tf.Scalar,
    };
    return { loss, metrics, mask };
  }

  /**
   * The minibatch's gradient summed over parts (train/parts.ts), rollout rows then ptx windows. A part's masked means
   * are scaled by its share of the minibatch's response tokens, a ptx part's mean by its share of the windows. False
   * when `stop()` cut it short.
   */
  async accumulateInParts(
    optimizer: AdamW,
    r: ScoredRollouts,
    batch: MinibatchRows,
    sizers: Record<'rollout' | 'ptx', PartSizer>,
    stop: () => boolean,
  ): Promise<boolean> {
    const rows = batch.rows.length;
    const tokens = tf.tidy(() => tf.sum(responseMask(r, tf.tensor1d(batch.rows, 'int32'), batch.counts)));
    const segments: Segment[] = [
      {
        rows,
        sizer: sizers.rollout,
        part: (from, to) => {
          const part = this.rolloutLoss(r, batch.rows.slice(from, to), batch.counts.slice(from, to));
          return scaledPart(part, tf.div(tf.sum(part.mask), tf.maximum(tokens, 1e-8)) as tf.Scalar);
        },
      },
    ];
    const ptx = batch.ptx;
    if (ptx) {
      const part = (from: number, to: number): LossWithMetrics => {
        const ptxLoss = this.ptx!.loss(this.policy, ptx, from, to);
        return scaledPart(
          { loss: tf.mul(this.settings.ptx_coef, ptxLoss) as tf.Scalar, metrics: { 'ptx/loss': ptxLoss } },
          (to - from) / rows,
        );
      };
      segments.push({ rows, sizer: sizers.ptx, part });
    }
    try {
      return await accumulateSegments(optimizer, segments, stop);
    } finally {
      tokens.dispose();
    }
  }
}

/** 1 at the response tokens of rollout rows `index`, times each row's count (0 for a repeated filler row). */
function responseMask(r: ScoredRollouts, index: tf.Tensor1D, counts: number[]): tf.Tensor2D {
  return tf.mul(tf.gather(r.batch.targetMask, index), tf.reshape(tf.tensor1d(counts), [-1, 1])) as tf.Tensor2D;
}
