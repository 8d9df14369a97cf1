/**
 * Metric names of the PPO, DPO and GRPO stages, the same as TRL's PPOTrainer, DPOTrainer and GRPOTrainer log them, plus this
 * project's own (ptx/loss, objective/kl_coef, time/*); best-of-n's, in the same words; and the metrics of written
 * responses that they all report (objective/gold, objective/instruction_following).
 */
import { summariseFollowing } from '../data/instructionFollowing';
import { followsInstructions, TASK_FAMILIES, type TaskFamily } from '../data/tasks/families';
import { summariseGrades } from '../data/tasks/grade';
import type { Metrics } from '../train/loop';

/** A prompt and the response written to it. */
export interface PromptResponse {
  prompt: string;
  response: string;
}

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

/** Metric names of the DPO stage (rlhf/dpo.ts), as TRL's DPOTrainer logs them, plus loss, grad_norm and lr. */
export const DPO_METRIC_NAMES = [
  'loss', // the DPO loss of the step's rankings, each ranking weighted 1/C(K,2) (Eq. 1)
  'rewards/chosen', // mean implicit reward beta * (log pi(y_w|x) - log pi_ref(y_w|x)) of the preferred completions
  'rewards/rejected', // the same for the completions ranked below them
  'rewards/accuracies', // share of pairs whose preferred completion has the higher implicit reward
  'rewards/margins', // mean rewards/chosen - rewards/rejected
  'logps/chosen', // mean log pi(y_w|x), summed over the response tokens
  'logps/rejected',
  'grad_norm',
  'lr',
] as const;

export type DpoMetricName = (typeof DPO_METRIC_NAMES)[number];

/** Metric names of the GRPO stage (rlhf/grpo.ts), as TRL's GRPOTrainer logs them, plus time/* and the response metrics below. */
export const GRPO_METRIC_NAMES = [
  'loss', // the clipped surrogate plus beta * kl, the mean over the batch's response tokens
  'grad_norm',
  'reward', // mean reward of the completions
  'reward_std', // mean over the groups of the std of their rewards
  'frac_reward_zero_std', // share of groups whose rewards are all equal (advantage 0: they teach nothing)
  'kl', // mean per-token k3 estimate of KL(pi || pi_ref); absent when beta = 0 (no reference)
  'clip_ratio/region_mean', // share of tokens whose ratio the clip held
  'completions/mean_length', // mean completion length in tokens
  'completions/clipped_ratio', // share of completions cut at the length limit (no EOS)
  'learning_rate',
  'time/sample_s',
  'time/score_s',
  'time/update_s',
] as const;

export type GrpoMetricName = (typeof GRPO_METRIC_NAMES)[number];

export type GrpoMetrics = Partial<Record<GrpoMetricName, number>>;

/** Metric names of the best-of-n stage (rlhf/bestOfN.ts), GRPO's words where they mean the same, plus the response metrics below. */
export const BEST_OF_N_METRIC_NAMES = [
  'best_of_n/n', // completions sampled per prompt; the kept one is the best of them by the reward
  'reward', // mean over the prompts of the kept completion's reward
  'reward_mean', // mean reward of all n completions (what best of 1 gets on average)
  'objective/kl', // log n - (n - 1) / n, the closed form (an upper bound, Beirami et al. 2024), nats per sequence
  'completions/mean_length', // mean length of the kept completions in tokens
  'time/sample_s',
  'time/score_s',
] as const;

export type BestOfNMetricName = (typeof BEST_OF_N_METRIC_NAMES)[number];

export type BestOfNMetrics = Partial<Record<BestOfNMetricName, number>>;

/** The share of closed-domain responses that name a character, animal, object or place their input does not have. */
export const HALLUCINATION_METRIC = 'objective/hallucination';

/** The share of a task family's responses that its grader calls correct (data/tasks). */
export const taskCorrectMetric = (family: TaskFamily) => `tasks/${family}/correct`;

/**
 * objective/gold, the simulated labeler's mean gold score of prompt + response (when a gold scorer is given),
 * objective/instruction_following, the share of the named constraints of the instructions that the responses honour
 * as written (story requests only: absent when no instruction names anything), and, when closed-domain tasks are among the prompts,
 * objective/hallucination and each family's tasks/<family>/correct.
 */
export function responseMetrics(samples: PromptResponse[], goldScorer?: (text: string) => number): Metrics {
  const out: Metrics = {};
  if (goldScorer) out['objective/gold'] = mean(samples.map((s) => goldScorer(s.prompt + s.response)));
  const following = summariseFollowing(samples.filter((s) => followsInstructions(s.prompt)));
  if (following.total > 0) out['objective/instruction_following'] = following.share;
  const tasks = summariseGrades(samples);
  if (tasks.madeUp.total > 0) {
    out[HALLUCINATION_METRIC] = tasks.madeUp.rate;
    for (const family of TASK_FAMILIES) if (tasks.byFamily[family].total > 0) out[taskCorrectMetric(family)] = tasks.byFamily[family].rate;
  }
  return out;
}

export function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / Math.max(xs.length, 1);
}
