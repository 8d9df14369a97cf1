/**
 * Best-of-n (rlhf/bestOfN.ts): its closed-form KL against the exact KL of small discrete examples, derived below; then
 * the stage on the micro world (ppo-micro.ts): the sweep n = 1, 2, 4, 8 in one sampling pass (n_max completions per
 * prompt in all), the kept reward the best of the first n (so it never falls as n grows), the metrics named as
 * declared, and the policy left as it was; with a reward model too.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/lib/data/rng';
import { GPT } from '../../src/lib/model/gpt';
import { bestOfFirst, bestOfNKl, BestOfNStage, sweepSizes } from '../../src/lib/rlhf/bestOfN';
import { BEST_OF_N_METRIC_NAMES } from '../../src/lib/rlhf/metrics';
import { RewardModel } from '../../src/lib/rlhf/rewardModel';
import type { Metrics } from '../../src/lib/train/loop';
import { cfg, prompts, tokenizer } from './ppo-micro';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

/**
 * Exact KL(p_n || p) of best-of-n from a base distribution p over outcomes listed by rising reward (all distinct): the
 * kept outcome is y when all n draws are at most y and not all below it, p_n(y) = F(y)^n - F(y-)^n.
 */
function exactKl(p: number[], n: number): number {
  let below = 0;
  let kl = 0;
  for (const q of p) {
    const upTo = below + q;
    const pn = upTo ** n - below ** n;
    if (pn > 0) kl += pn * Math.log(pn / q);
    below = upTo;
  }
  return kl;
}

const uniform = (m: number) => Array<number>(m).fill(1 / m);

describe('best-of-n KL', () => {
  it('is log n - (n - 1)/n: 0 at n = 1, and by hand at n = 2 and 4', () => {
    expect(bestOfNKl(1)).toBe(0);
    expect(bestOfNKl(2)).toBeCloseTo(Math.log(2) - 0.5, 12); // 0.193147
    expect(bestOfNKl(4)).toBeCloseTo(0.636294, 6); // 1.386294 - 0.75
  });

  it('bounds the exact KL of a uniform base from above, and meets it as the outcomes grow many', () => {
    // Two outcomes, n = 2: p_2 = [1/4, 3/4], exact KL = 1/4 log(1/2) + 3/4 log(3/2) = 0.130812 < 0.193147.
    expect(exactKl(uniform(2), 2)).toBeCloseTo(0.25 * Math.log(0.5) + 0.75 * Math.log(1.5), 12);
    // Over m equal outcomes, m p_n(i) = m (i^n - (i-1)^n) / m^n = n xi^(n-1) for a xi in ((i-1)/m, i/m) (mean value
    // theorem): the exact KL is a Riemann sum of f(u) = n u^(n-1) log(n u^(n-1)), whose integral over [0, 1] is
    // log n - (n - 1)/n, the continuous limit. Such a sum of a smooth integrand misses by O(f''/m^2) ~ n^2/m^2, and the
    // log at u = 0 adds a factor of log m (measured: the gap is 0.65/m^2 at n = 2, m = 256; 170/m^2 at n = 64, whatever
    // m). So: 0 < bound - exact <= n^2 (1 + ln m) / m^2 for n >= 2.
    for (const n of [2, 3, 4, 16, 64])
      for (const m of [2, 16, 256, 4096]) {
        const gap = bestOfNKl(n) - exactKl(uniform(m), n);
        expect(gap, `n ${n}, m ${m}`).toBeGreaterThan(0);
        expect(gap, `n ${n}, m ${m}`).toBeLessThanOrEqual((n * n * (1 + Math.log(m))) / (m * m));
      }
    // the limit itself: within 1e-4 at m = 4096 even for n = 64 (170 / 4096^2 = 1.0e-5)
    expect(exactKl(uniform(4096), 64)).toBeCloseTo(bestOfNKl(64), 4);
  });

  it('bounds the exact KL of any base distribution from above (Beirami et al. 2024)', () => {
    const rng = new Rng(7);
    for (let t = 0; t < 200; t++) {
      const raw = Array.from({ length: 2 + Math.floor(rng.next() * 30) }, () => rng.next() ** 3 + 1e-9);
      const total = raw.reduce((s, x) => s + x, 0);
      const p = raw.map((x) => x / total);
      for (const n of [1, 2, 3, 8, 64]) expect(exactKl(p, n)).toBeLessThanOrEqual(bestOfNKl(n) + 1e-12);
    }
  });
});

describe('best-of-n sweep', () => {
  it('runs n = 1, 2, 4, ... up to n_max, and keeps the best of the first n', () => {
    expect(sweepSizes(64)).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(sweepSizes(6)).toEqual([1, 2, 4, 6]);
    expect(sweepSizes(1)).toEqual([1]);
    expect(bestOfFirst([0.1, 0.5, 0.3, 0.9], 1)).toBe(0);
    expect(bestOfFirst([0.1, 0.5, 0.3, 0.9], 3)).toBe(1);
    expect(bestOfFirst([0.1, 0.5, 0.5, 0.9], 4)).toBe(3);
    expect(bestOfFirst([0.5, 0.5], 2)).toBe(0); // the first of equals
  });
});

const values = async (variables: readonly tf.Variable[]) => Promise.all(variables.map(async (v) => Array.from(await v.data())));

async function sweep(stage: BestOfNStage): Promise<Metrics[]> {
  const out: Metrics[] = [];
  while (stage.stepsDone < stage.totalSteps) out.push(await stage.step());
  return out;
}

describe('BestOfNStage', () => {
  const settings = { n_max: 8, prompts: 3, response_length: 6, temperature: 1, seed: 2 };

  it('samples n_max completions per prompt in one pass, and the kept reward never falls as n grows', async () => {
    const policy = GPT.init(cfg, 3);
    const before = await values(policy.variables());
    const scored: string[] = [];
    // a reward of many distinct values: the response's characters, each weighted by its code
    const reward = (prompt: string, response: string) => {
      scored.push(prompt);
      return [...response].reduce((s, c, i) => s + ((c.charCodeAt(0) * (i + 1)) % 97), 0) / 100;
    };
    const gold = (text: string) => text.length / 100;
    const stage = new BestOfNStage({ policy, tokenizer, prompts, rewardFunction: reward, goldScorer: gold, settings });
    expect(stage.totalSteps).toBe(4);
    const steps = await sweep(stage);

    expect(steps.map((m) => m['best_of_n/n'])).toEqual([1, 2, 4, 8]);
    expect(scored.length).toBe(settings.prompts * settings.n_max); // 1 + 1 + 2 + 4 per prompt: each sampled once
    for (let i = 1; i < steps.length; i++) expect(steps[i].reward).toBeGreaterThanOrEqual(steps[i - 1].reward);
    expect(steps.at(-1)!.reward).toBeGreaterThan(steps[0].reward); // 8 draws of a many-valued reward beat 1
    expect(steps[0].reward).toBeCloseTo(steps[0].reward_mean, 12); // best of 1 is the one draw
    for (const m of steps.slice(1)) expect(m.reward).toBeGreaterThan(m.reward_mean);
    steps.forEach((m) => expect(m['objective/kl']).toBeCloseTo(bestOfNKl(m['best_of_n/n']), 12));
    // the kept completions are the stage's best: their reward and gold are the step's figures
    expect(stage.kept.map((k) => k.reward).reduce((s, r) => s + r, 0) / settings.prompts).toBeCloseTo(steps.at(-1)!.reward, 12);
    const keptGold = stage.kept.map((k) => gold(k.prompt + k.response)).reduce((s, g) => s + g, 0) / settings.prompts;
    expect(steps.at(-1)!['objective/gold']).toBeCloseTo(keptGold, 12);

    // metrics named as declared: every declared name, and nothing else but the response metrics
    const declared = new Set<string>([...BEST_OF_N_METRIC_NAMES, 'objective/gold', 'objective/instruction_following']);
    for (const m of steps) {
      for (const name of BEST_OF_N_METRIC_NAMES) expect(Number.isFinite(m[name]), name).toBe(true);
      for (const name of Object.keys(m)) expect(declared.has(name), name).toBe(true);
    }
    expect(await stage.evaluate()).toEqual(steps.at(-1));
    expect(await values(policy.variables())).toEqual(before); // it trains nothing
    stage.dispose();
    policy.dispose();
  });

  it('scores with a reward model, the same sweep again from the same seed', async () => {
    const policy = GPT.init(cfg, 4);
    const rewardModel = RewardModel.fromPolicy(policy, 5);
    const run = async () => {
      const stage = new BestOfNStage({ policy, tokenizer, prompts, rewardModel, settings });
      const steps = await sweep(stage);
      stage.dispose();
      return steps;
    };
    const a = await run();
    for (let i = 1; i < a.length; i++) expect(a[i].reward).toBeGreaterThanOrEqual(a[i - 1].reward);
    expect(a.at(-1)!.reward).toBeGreaterThan(a[0].reward);
    expect((await run()).map((m) => m.reward)).toEqual(a.map((m) => m.reward));
    rewardModel.dispose();
    policy.dispose();
  });
});
