/** PPO-ptx's settings (rlhf/ppo.ts): defaults (the paper's or TRL's), ranges and explanations, and the rule between two of them. */
import { choice, defaultsOf, flag, float, hidden, int, SEED, type SettingsOf } from '../settings';

/** The one source for the form and the code. */
export const PPO_SETTINGS = [
  int('iterations', 'Iterations', 200, 1, 100_000, 'PPO iterations: each samples a batch of rollouts, scores them and updates the policy.'),
  int('batch_size', 'Rollouts per batch', 16, 2, 512, 'Prompts (episodes) per iteration. The paper: 512.'),
  int('mini_batch_size', 'Minibatch', 8, 1, 512, 'Rollouts per gradient step within an iteration.'),
  int('num_ppo_epochs', 'PPO epochs', 4, 1, 32, 'Passes over each rollout batch (TRL default 4).'),
  // the highest that keeps the language (scripts/lr-ceiling.ts, tiny fixture, 12 iterations): ptx loss 0.68 at 1e-4,
  // 0.71-0.73 at 1e-3, 0.85-0.99 at 3e-3, 1.4-2.7 at 0.01 and 4.9-8.0 at 0.05 (garbage)
  float('learning_rate', 'Learning rate', 1e-4, 1e-7, 1e-3, 'AdamW learning rate for policy and value model.'),
  float(
    'kl_coef',
    'KL coefficient (beta)',
    0.05,
    0,
    10,
    'Weight of the per-token KL penalty against the SFT model. The paper: 0.02; TRL: 0.05.',
  ),
  flag('adaptive_kl', 'Adaptive KL', false, 'Adjust beta to hold the KL near a target (Ziegler et al.).'),
  float('kl_target', 'KL target', 6, 0.01, 100, 'Adaptive KL: the KL (nats per sequence) to aim for.'),
  int('kl_horizon', 'KL horizon', 10_000, 1, 1_000_000, 'Adaptive KL: how slowly beta moves (in episodes).'),
  choice(
    'kl_estimator',
    'KL estimator',
    'k1',
    ['k1', 'k3'],
    'k1 = log p - log p_ref (unbiased, can be negative); k3 = (r - 1) - log r (always >= 0).',
  ),
  float('cliprange', 'Clip range', 0.2, 0.01, 1, 'PPO policy ratio clip epsilon. The paper: 0.2.'),
  float('cliprange_value', 'Value clip range', 0.2, 0.01, 10, 'Clip on the value update.'),
  float('vf_coef', 'Value loss coef', 0.1, 0, 10, 'Weight of the value loss.'),
  float('gamma', 'GAE gamma', 1, 0, 1, 'Discount for GAE (1: the episode is one response).'),
  float('lam', 'GAE lambda', 0.95, 0, 1, 'GAE lambda.'),
  float(
    'ptx_coef',
    'ptx coefficient (gamma)',
    1,
    0,
    100,
    'Weight of the pretraining log-likelihood (PPO-ptx, Eq. 2); 0 = plain PPO. The paper: 27.8 with its loss scaling.',
  ),
  float('temperature', 'Temperature', 1, 0.05, 3, 'Sampling temperature for rollouts, also used for log-probs. The paper: 1.'),
  int('response_length', 'Max response tokens', 48, 4, 512, 'Longest response a rollout may write.'),
  float('missing_eos_penalty', 'Missing-EOS penalty', 1, 0, 100, 'Subtracted from the score of a response that never ends.'),
  float('max_grad_norm', 'Gradient clip', 1, 0, 100, 'Clip the global gradient norm.'),
  flag('whiten_rewards', 'Whiten rewards', false, 'Normalise rewards over the batch before GAE.'),
  SEED,
  hidden(float('weight_decay', 'Weight decay', 0, 0, 1, 'Decoupled AdamW weight decay.')),
] as const;

export type PpoSettings = SettingsOf<typeof PPO_SETTINGS>;
export const PPO_DEFAULTS: PpoSettings = defaultsOf(PPO_SETTINGS);

/** The one rule between two PPO settings; null when they fit. */
export function minibatchError(s: Pick<PpoSettings, 'mini_batch_size' | 'batch_size'>): string | null {
  return s.mini_batch_size > s.batch_size
    ? `Minibatch (${s.mini_batch_size}) must not be larger than the rollouts per batch (${s.batch_size}).`
    : null;
}
