/**
 * The metric names the lessons chart and summarise. A run records its stage's own metrics under the names the
 * session gives them (TRL's for PPO, src/lib/rlhf/metrics.ts; `sft/…` and `reward/…` namespaced by the stage
 * runner); a lesson's evaluations add eval points, named here, once. Held-out versions of a stage's metric keep
 * its name on eval points (held-out gold is `objective/gold` at kind 'eval').
 */
import { HALLUCINATION_METRIC, type PpoMetricName } from '../rlhf/metrics';

const ppo = <N extends PpoMetricName>(name: N) => name;

export const M = {
  /** The labeler's gold score: of the rollouts (train points, PpoStage) and of held-out responses (eval points). */
  gold: 'objective/gold',
  /** The reward model's score of the rollouts: the proxy reward. */
  scores: ppo('objective/scores'),
  kl: ppo('objective/kl'),
  /** Loss on held-out pretraining text: the pretrain stage's name for it. */
  pretrainValLoss: 'pretrain/val_loss',
  winRate: 'win_rate',
  winRateLow: 'win_rate/low',
  winRateHigh: 'win_rate/high',
  /** Held-out pair accuracy against the labeler's rankings: the reward stage's name for it. */
  pairAccuracy: 'reward/pair_accuracy',
  /** ... and against the labeler's gold order (pairs tied in gold skipped). */
  goldPairAccuracy: 'reward/gold_pair_accuracy',
  rewardLoss: 'reward/loss',
  rewardSteps: 'reward/steps',
  /** The labeler's own agreement with its gold order on the held-out rankings: the ceiling of pair accuracy. */
  labelerAgreement: 'labeler/agreement',
  /** A sweep point's training data: rankings, completions read and the comparisons they hold. */
  rankings: 'rankings',
  completionsRead: 'completions_read',
  comparisons: 'pairs',
  sftLoss: 'sft/loss',
  sftValLoss: 'sft/val_loss',
  following: 'sft/instruction_following',
  /** Held-out closed-domain responses that make up a fact (the 'made-up-facts' evaluation), its 95 % interval, and how many were graded. */
  madeUp: HALLUCINATION_METRIC,
  madeUpLow: `${HALLUCINATION_METRIC}/low`,
  madeUpHigh: `${HALLUCINATION_METRIC}/high`,
  closedDomain: 'tasks/closed_domain',
  /**
   * On a run's eval points: seconds its training steps took so far (evaluations not counted), plus those of the reward
   * model it optimises (a PPO run's clock starts where its reward model's stopped).
   */
  trainingSeconds: 'time/training_s',
} as const;

/**
 * pass@k on held-out instructions (the 'pass-at-k' evaluation): the chance that at least one of k sampled responses
 * honours everything its instruction named, by the unbiased estimator of Chen et al. 2021 (stats.ts passAtK).
 */
export const passAt = (k: number) => `pass@${k}`;

/** Instruction following of one constraint kind ('character', 'animal', …). */
export const followingOf = (kind: string) => `${M.following}/${kind}`;
