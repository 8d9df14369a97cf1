import { describe, expect, it } from 'vitest';
import { isFiniteMetrics, PPO_METRIC_NAMES, type PpoMetrics } from '../../src/lib/rlhf/metrics';

describe('PPO metric names', () => {
  it('include the TRL names and this project’s own, once each', () => {
    for (const name of [
      'objective/kl',
      'objective/entropy',
      'objective/non_score_reward',
      'objective/rlhf_reward',
      'objective/scores',
      'policy/approxkl_avg',
      'policy/clipfrac_avg',
      'policy/entropy_avg',
      'loss/policy_avg',
      'loss/value_avg',
      'val/clipfrac_avg',
      'val/ratio',
      'val/num_eos_tokens',
      'lr',
      'episode',
      'ptx/loss',
      'objective/kl_coef',
      'time/sample_s',
      'time/score_s',
      'time/update_s',
    ]) {
      expect(PPO_METRIC_NAMES).toContain(name);
    }
    expect(new Set(PPO_METRIC_NAMES).size).toBe(PPO_METRIC_NAMES.length);
  });
});

describe('isFiniteMetrics', () => {
  it('returns null when all metrics are finite', () => {
    const m: PpoMetrics = { 'objective/kl': 0.1, 'loss/policy_avg': -0.02, episode: 64 };
    expect(isFiniteMetrics(m)).toBeNull();
    expect(isFiniteMetrics({})).toBeNull();
    expect(isFiniteMetrics({ lr: undefined, episode: 3 })).toBeNull();
  });

  it('names the first NaN or infinite metric', () => {
    expect(isFiniteMetrics({ lr: 1e-5, 'val/ratio': Infinity, 'objective/kl': NaN })).toBe('val/ratio');
    expect(isFiniteMetrics({ lr: 1e-5, 'objective/kl': NaN })).toBe('objective/kl');
    expect(isFiniteMetrics({ 'loss/value_avg': -Infinity })).toBe('loss/value_avg');
  });
});
