/**
 * Metric names of the PPO stage, the same as TRL's PPOTrainer logs them, plus this
 * project's own (ptx/loss, objective/kl_coef, time/*).
 */

export const PPO_METRIC_NAMES = [
  'objective/kl', // mean over the batch of the per-sequence sum of per-token KL
  'objective/entropy', // mean per-sequence sum of -logp of the sampled tokens (entropy estimate)
  'objective/non_score_reward', // mean per-sequence sum of -beta * KL
  'objective/rlhf_reward', // scores + non_score_reward
  'objective/scores', // mean reward-model score
  'policy/approxkl_avg', // 0.5 * mean((logp - oldLogp)^2) over PPO minibatches
  'policy/clipfrac_avg', // share of tokens where the policy ratio was clipped
  'policy/entropy_avg', // mean per-token entropy of the policy that wrote the rollouts (once per iteration)
  'loss/policy_avg',
  'loss/value_avg',
  'val/clipfrac_avg', // share of tokens where the value was clipped
  'val/ratio', // mean policy ratio exp(logp - oldLogp)
  'val/num_eos_tokens', // responses in the batch that emitted EOS
  'lr',
  'episode', // responses generated so far
  'ptx/loss', // PPO-ptx pretraining loss term
  'objective/kl_coef', // current beta
  'time/sample_s',
  'time/score_s',
  'time/update_s',
] as const;

export type PpoMetricName = (typeof PPO_METRIC_NAMES)[number];

export type PpoMetrics = Partial<Record<PpoMetricName, number>>;
