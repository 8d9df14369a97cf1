/**
 * PPO-ptx's metrics of one iteration under TRL's names (metrics.ts): the rollouts' per-sequence figures (rollout.ts
 * PER_SEQUENCE_ROWS), the update's minibatch means, and what the written responses honour.
 */
import type { Metrics } from '../train/loop';
import { mean, responseMetrics, type PpoMetrics, type PromptResponse } from './metrics';
import { PER_SEQUENCE_ROWS } from './rollout';

export type PerSequenceName = (typeof PER_SEQUENCE_ROWS)[number];

/** Per-sequence figures of a batch of `width` rollouts: row `name` of the [rows, width] matrix. */
export function perSequenceColumn(perSequence: Float32Array | Int32Array | Uint8Array, name: PerSequenceName, width: number): number[] {
  const row = PER_SEQUENCE_ROWS.indexOf(name);
  return Array.from(perSequence.subarray(row * width, (row + 1) * width));
}

export interface IterationFigures {
  samples: PromptResponse[];
  finished: boolean[];
  column: (name: PerSequenceName) => number[];
  /** The minibatch means of the update (loss/*, policy/approxkl_avg, ..., ptx/loss). */
  update: Record<string, number>;
  lr: number;
  episode: number;
  klCoef: number;
  seconds: { sample: number; score: number; update: number };
  goldScorer?: (text: string) => number;
}

export function iterationMetrics(it: IterationFigures): PpoMetrics & Metrics {
  const { column } = it;
  const scores = column('score');
  return {
    'objective/kl': mean(column('kl')),
    'objective/entropy': mean(column('neg_logp')),
    'objective/non_score_reward': mean(column('non_score_reward')),
    'objective/rlhf_reward': mean(scores) + mean(column('non_score_reward')),
    'objective/scores': mean(scores),
    // the per-token entropy of the policy that wrote the rollouts (computed once, when scoring)
    'policy/entropy_avg': sum(column('entropy')) / Math.max(sum(column('tokens')), 1),
    ...it.update,
    'val/num_eos_tokens': it.finished.filter(Boolean).length,
    lr: it.lr,
    episode: it.episode,
    'objective/kl_coef': it.klCoef,
    'time/sample_s': it.seconds.sample,
    'time/score_s': it.seconds.score,
    'time/update_s': it.seconds.update,
    // the share of the rollouts' instructions honoured is as written: cut at response_length, a story's ending may be missing
    ...responseMetrics(it.samples, it.goldScorer),
  };
}

function sum(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0);
}
