import { describe, expect, it } from 'vitest';
import { responseProgress } from '../../src/lib/model/sampler';
import { samplingLabel } from '../../src/lib/rlhf/sampling';
import { klBadge, stepCounter } from '../../src/ui/stageView';

describe('numbers that say what they count', () => {
  it('sampling progress counts response tokens of the response length, not positions of unequal prompts', () => {
    // prompts of 5, 10 and 17 tokens, 48 response tokens each: the sampler runs positions 5 .. 64 (60 of them)
    const lengths = [5, 10, 17];
    const end = 17 + 48;
    const at = (t: number) => responseProgress(t, lengths, 48, end);
    expect(at(5)).toEqual({ done: 1, total: 48 }); // the shortest prompt's first token
    expect(at(16)).toEqual({ done: Math.ceil((12 + 7 + 0) / 3), total: 48 });
    expect(at(30)).toEqual({ done: Math.ceil((26 + 21 + 14) / 3), total: 48 });
    expect(at(end - 1)).toEqual({ done: 48, total: 48 }); // every response has its 48
    const seen = Array.from({ length: end - 5 }, (_, i) => at(5 + i).done);
    expect(Math.max(...seen)).toBe(48); // never "1/60" .. "1/71": the total is the setting's
    seen.slice(1).forEach((d, i) => expect(d - seen[i]).toBeGreaterThanOrEqual(0));
    expect(samplingLabel('sampling rollouts', 12, 48)).toBe('sampling rollouts 12/48 tokens');
  });

  it('where the context ends first, the total is what the responses can still write', () => {
    // a context of 32: the 20-token prompt has room for 12, the 10-token one for 16 (of 16 asked)
    expect(responseProgress(31, [10, 20], 16, 32)).toEqual({ done: 14, total: 14 });
  });

  it("the step counter adds the reward model's incremental-update steps to its planned ones", () => {
    expect(stepCounter({ state: 'running', step: 12, total: 64 })).toBe('12 / 64');
    expect(stepCounter({ state: 'done', step: 64, total: 64, extraSteps: 40 })).toBe('64 / 64 + 40 in updates');
  });

  it('the KL badge names its estimator', () => {
    expect(klBadge(2.4512)).toBe('KL k3 2.45');
  });
});
