/**
 * Every stage's settings: default (the paper's value where it has one), range, and a short
 * explanation. The UI renders controls from this and the engine validates against it: one source.
 */
export interface NumberSetting {
  key: string;
  label: string;
  kind: 'int' | 'float';
  default: number;
  min: number;
  max: number;
  help: string;
}

export interface ChoiceSetting {
  key: string;
  label: string;
  kind: 'choice';
  default: string;
  options: string[];
  help: string;
}

export interface FlagSetting {
  key: string;
  label: string;
  kind: 'flag';
  default: boolean;
  help: string;
}

export type SettingSpec = NumberSetting | ChoiceSetting | FlagSetting;
export type SettingValues = Record<string, number | string | boolean>;

const int = (key: string, label: string, def: number, min: number, max: number, help: string): NumberSetting => ({ key, label, kind: 'int', default: def, min, max, help });
const float = (key: string, label: string, def: number, min: number, max: number, help: string): NumberSetting => ({ key, label, kind: 'float', default: def, min, max, help });

const seed = int('seed', 'Seed', 1, 0, 2 ** 31 - 1, 'Random seed: the same seed repeats the same run.');

export const PRETRAIN_SETTINGS: SettingSpec[] = [
  int('steps', 'Steps', 2000, 1, 1_000_000, 'Optimisation steps to run.'),
  int('batch_size', 'Batch size', 16, 1, 256, 'Sequences per step, each one context long.'),
  float('learning_rate', 'Learning rate', 3e-3, 1e-6, 0.1, 'Peak AdamW learning rate; warm-up, then cosine decay to a tenth of it.'),
  int('warmup_steps', 'Warm-up steps', 50, 0, 100_000, 'Steps of linear learning-rate warm-up.'),
  float('weight_decay', 'Weight decay', 0.1, 0, 1, 'Decoupled AdamW weight decay on the weight matrices.'),
  float('max_grad_norm', 'Gradient clip', 1, 0, 100, 'Clip the global gradient norm to this (0 = off).'),
  int('eval_every', 'Evaluate every', 50, 1, 100_000, 'Steps between validation-loss measurements.'),
  int('sample_every', 'Sample every', 100, 1, 100_000, 'Steps between fresh samples.'),
  seed,
];

export const SFT_SETTINGS: SettingSpec[] = [
  int('epochs', 'Epochs', 4, 1, 100, 'Passes over the demonstrations. The paper used 16 epochs (and found that over-fitting the validation loss still helped the reward).'),
  int('batch_size', 'Batch size', 16, 1, 256, 'Demonstrations per step.'),
  float('learning_rate', 'Learning rate', 3e-4, 1e-6, 0.1, 'Peak learning rate with cosine decay, as in the paper. Much above 3e-4 the pretrained model forgets faster than it learns the format.'),
  int('demonstrations', 'Built-in demos', 512, 8, 20_000, 'How many built-in instruction/response demonstrations to train on (your own are added).'),
  seed,
];

export const REWARD_SETTINGS: SettingSpec[] = [
  int('epochs', 'Epochs', 2, 1, 100, 'Passes over the rankings. The paper trains its reward model for one epoch to avoid over-fitting.'),
  int('rankings_per_batch', 'Rankings per batch', 4, 1, 64, 'Rankings per step; all K(K-1)/2 pairs of a ranking go in the same batch (Eq. 1).'),
  float('learning_rate', 'Learning rate', 3e-4, 1e-6, 0.1, 'AdamW learning rate for the reward model.'),
  float('held_out_share', 'Held-out share', 0.2, 0, 0.9, 'Share of rankings kept aside to measure pair accuracy.'),
  int('update_steps', 'Steps per new ranking', 4, 0, 100, 'Incremental update: steps run each time a ranking arrives (mixed with earlier rankings).'),
  seed,
];

export const PPO_SETTINGS: SettingSpec[] = [
  int('iterations', 'Iterations', 200, 1, 100_000, 'PPO iterations: each samples a batch of rollouts, scores them and updates the policy.'),
  int('batch_size', 'Rollouts per batch', 16, 2, 512, 'Prompts (episodes) per iteration. The paper: 512.'),
  int('mini_batch_size', 'Minibatch', 8, 1, 512, 'Rollouts per gradient step within an iteration.'),
  int('num_ppo_epochs', 'PPO epochs', 4, 1, 32, 'Passes over each rollout batch (TRL default 4).'),
  float('learning_rate', 'Learning rate', 1e-4, 1e-7, 0.05, 'AdamW learning rate for policy and value model.'),
  float('kl_coef', 'KL coefficient (beta)', 0.05, 0, 10, 'Weight of the per-token KL penalty against the SFT model. The paper: 0.02; TRL: 0.05.'),
  { key: 'adaptive_kl', label: 'Adaptive KL', kind: 'flag', default: false, help: 'Adjust beta to hold the KL near a target (Ziegler et al.).' },
  float('kl_target', 'KL target', 6, 0.01, 100, 'Adaptive KL: the KL (nats per sequence) to aim for.'),
  int('kl_horizon', 'KL horizon', 10_000, 1, 1_000_000, 'Adaptive KL: how slowly beta moves (in episodes).'),
  { key: 'kl_estimator', label: 'KL estimator', kind: 'choice', default: 'k1', options: ['k1', 'k3'], help: 'k1 = log p - log p_ref (unbiased, can be negative); k3 = (r - 1) - log r (always >= 0).' },
  float('cliprange', 'Clip range', 0.2, 0.01, 1, 'PPO policy ratio clip epsilon. The paper: 0.2.'),
  float('cliprange_value', 'Value clip range', 0.2, 0.01, 10, 'Clip on the value update.'),
  float('vf_coef', 'Value loss coef', 0.1, 0, 10, 'Weight of the value loss.'),
  float('gamma', 'GAE gamma', 1, 0, 1, 'Discount for GAE (1: the episode is one response).'),
  float('lam', 'GAE lambda', 0.95, 0, 1, 'GAE lambda.'),
  float('ptx_coef', 'ptx coefficient (gamma)', 1, 0, 100, 'Weight of the pretraining log-likelihood (PPO-ptx, Eq. 2); 0 = plain PPO. The paper: 27.8 with its loss scaling.'),
  float('temperature', 'Temperature', 1, 0.05, 3, 'Sampling temperature for rollouts, also used for log-probs. The paper: 1.'),
  int('response_length', 'Max response tokens', 48, 4, 512, 'Longest response a rollout may write.'),
  float('missing_eos_penalty', 'Missing-EOS penalty', 1, 0, 100, 'Subtracted from the score of a response that never ends.'),
  float('max_grad_norm', 'Gradient clip', 1, 0, 100, 'Clip the global gradient norm.'),
  { key: 'whiten_rewards', label: 'Whiten rewards', kind: 'flag', default: false, help: 'Normalise rewards over the batch before GAE.' },
  seed,
];

export const STAGE_SETTINGS = { pretrain: PRETRAIN_SETTINGS, sft: SFT_SETTINGS, reward: REWARD_SETTINGS, ppo: PPO_SETTINGS } as const;

export function defaultSettings(specs: SettingSpec[]): SettingValues {
  return Object.fromEntries(specs.map((s) => [s.key, s.default]));
}

/** Message for a value that does not fit its spec, or null. */
export function settingError(spec: SettingSpec, value: unknown): string | null {
  if (spec.kind === 'flag') return typeof value === 'boolean' ? null : `${spec.label} must be on or off.`;
  if (spec.kind === 'choice') return spec.options.includes(value as string) ? null : `${spec.label} must be one of ${spec.options.join(', ')}.`;
  if (typeof value !== 'number' || !Number.isFinite(value)) return `${spec.label} must be a number.`;
  if (spec.kind === 'int' && !Number.isInteger(value)) return `${spec.label} must be a whole number.`;
  if (value < spec.min || value > spec.max) return `${spec.label} must be between ${spec.min} and ${spec.max}; got ${value}.`;
  return null;
}

/** Merges `changes` into `current`, refusing (with every reason) if any value is out of range or unknown. */
export function applySettings(specs: SettingSpec[], current: SettingValues, changes: SettingValues): SettingValues {
  const errors: string[] = [];
  for (const [key, value] of Object.entries(changes)) {
    const spec = specs.find((s) => s.key === key);
    const problem = spec ? settingError(spec, value) : `Unknown setting "${key}".`;
    if (problem) errors.push(problem);
  }
  if (errors.length) throw new Error(errors.join(' '));
  return { ...current, ...changes };
}
