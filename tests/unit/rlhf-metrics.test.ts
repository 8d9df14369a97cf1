import { describe, expect, it } from 'vitest';
import { PPO_METRIC_NAMES, type PpoMetrics } from '../../src/lib/rlhf/metrics';
import { firstNonFinite } from '../../src/lib/train/loop';

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

describe('firstNonFinite', () => {
  it('returns null when all metrics are finite', () => {
    const m: PpoMetrics = { 'objective/kl': 0.1, 'loss/policy_avg': -0.02, episode: 64 };
    expect(firstNonFinite(m)).toBeNull();
    expect(firstNonFinite({})).toBeNull();
    expect(firstNonFinite({ lr: undefined, episode: 3 })).toBeNull();
  });

  it('names the first NaN or infinite metric', () => {
    expect(firstNonFinite({ lr: 1e-5, 'val/ratio': Infinity, 'objective/kl': NaN })).toBe('val/ratio');
    expect(firstNonFinite({ lr: 1e-5, 'objective/kl': NaN })).toBe('objective/kl');
    expect(firstNonFinite({ 'loss/value_avg': -Infinity })).toBe('loss/value_avg');
  });
});
