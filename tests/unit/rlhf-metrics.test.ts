import { describe, expect, it } from 'vitest';
import { formatPrompt } from '../../src/lib/data/world';
import { HALLUCINATION_METRIC, PPO_METRIC_NAMES, responseMetrics, taskCorrectMetric, type PpoMetrics } from '../../src/lib/rlhf/metrics';
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

describe('response metrics of task prompts', () => {
  const story = 'Tom went to the park. Tom had a dog. The dog barked. In the end, Tom walked home alone.';
  const where = formatPrompt(`${story} Where was Tom?`);
  const story2 = formatPrompt('Write a story about Tom.');

  it('report the made-up-fact rate and per-family correctness once closed-domain tasks are among the prompts', () => {
    const m = responseMetrics([
      { prompt: where, response: ' Tom was at the park.' },
      { prompt: where, response: ' Tom was at the beach.' },
      { prompt: where, response: ' Tom was at the park with a cat.' },
      { prompt: story2, response: ' Tom went to the lake. Tom smiled.' },
    ]);
    expect(m[HALLUCINATION_METRIC]).toBeCloseTo(2 / 3, 12);
    expect(m[taskCorrectMetric('closed_qa')]).toBeCloseTo(2 / 3, 12);
    expect(m[taskCorrectMetric('generation')]).toBe(1);
    expect(m[taskCorrectMetric('rewrite')]).toBeUndefined();
  });

  it('leave them out for story prompts alone, as before the task families', () => {
    const m = responseMetrics([{ prompt: story2, response: ' Tom went to the lake.' }]);
    expect(Object.keys(m)).toEqual(['objective/instruction_following']);
  });
});
