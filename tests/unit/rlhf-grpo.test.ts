/**
 * GRPO's parts by hand (rlhf/grpo.ts): the group advantages, a group of equal rewards among them, and the loss with its
 * k3 term and its gradient on a small example, each figure derived in the comments; then steps on the micro world
 * (ppo-micro.ts): where every group's rewards are equal (frac_reward_zero_std 1, nothing to learn, the policy unchanged),
 * and a step paused while sampling or before its update, then resumed, makes exactly the update of one never paused.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GPT } from '../../src/lib/model/gpt';
import { ADVANTAGE_EPS, groupAdvantages, grpoLoss, GrpoStage, type GrpoControl } from '../../src/lib/rlhf/grpo';
import { instructionFollowingReward } from '../../src/lib/stages/rewardKinds';
import { cfg, prompts, tokenizer } from './ppo-micro';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

const values = async (variables: readonly tf.Variable[]) => Promise.all(variables.map(async (v) => Array.from(await v.data())));

describe('GRPO group advantages', () => {
  it('are (r - mean) / (std + eps) within each group, and 0 in a group of equal rewards (frac_reward_zero_std)', () => {
    // group 1: r = [1, 0, 0, 1]: mean 0.5, std (n - 1) = sqrt(4 * 0.25 / 3) = sqrt(1/3) = 0.577350;
    //   A = ±0.5 / (0.577350 + 1e-4) = ±0.865875
    // group 2: r = [2, 2, 2, 2]: std 0, A = 0 (not 0/eps noise), and it is the one group of two whose spread is 0
    // group 3: r = [3, 0, 0, 1]: mean 1, deviations [2, -1, -1, 0], std = sqrt(6 / 3) = 1.414214; A = dev / 1.414314
    const { advantages, groupStd, zeroStdShare } = groupAdvantages([1, 0, 0, 1, 2, 2, 2, 2, 3, 0, 0, 1], 4);
    const a1 = 0.5 / (Math.sqrt(1 / 3) + ADVANTAGE_EPS);
    expect(a1).toBeCloseTo(0.865875, 5);
    const s3 = Math.SQRT2 + ADVANTAGE_EPS;
    const expected = [a1, -a1, -a1, a1, 0, 0, 0, 0, 2 / s3, -1 / s3, -1 / s3, 0];
    advantages.forEach((a, i) => expect(a, `completion ${i}`).toBeCloseTo(expected[i], 6));
    expect(advantages.slice(4, 8)).toEqual([0, 0, 0, 0]);
    groupStd.forEach((s, i) => expect(s).toBeCloseTo([Math.sqrt(1 / 3), 0, Math.SQRT2][i], 6));
    expect(zeroStdShare).toBeCloseTo(1 / 3, 12);
    expect(groupAdvantages([5, 5, 1, 2], 2).zeroStdShare).toBe(0.5);
    expect(() => groupAdvantages([1, 2, 3], 2)).toThrow(/groups of 2/);
  });
});

describe('GRPO loss', () => {
  // Two completions, two response columns; the second row's second column is padding (mask 0): 3 tokens in all.
  // pi_old = pi_ref = 0.5 at every token; clip eps = 0.2; beta = 0.1; A = [+1, -1].
  //   row 0, A = +1: pi = [0.5, 0.65] -> rho = [1, 1.3]
  //     t0: min(1 * 1, clip(1) * 1) = 1, unclipped;   t1: min(1.3, 1.2) = 1.2, the clip holds it (no gradient)
  //   row 1, A = -1: pi = [0.35, (padding)] -> rho = 0.7
  //     t0: min(-0.7, -clip(0.7) = -0.8) = -0.8, the clip holds it (rho < 1 - eps with A < 0)
  //   policy loss = -(1 + 1.2 - 0.8) / 3 = -0.466667;   clip_ratio/region_mean = 2 / 3
  // k3 with r = pi_ref / pi: D = r - log r - 1
  //   row 0 t0: r = 1 -> 0;   row 0 t1: r = 0.5/0.65 = 0.769231, log r = -0.262364 -> 0.031595
  //   row 1 t0: r = 0.5/0.35 = 1.428571, log r = 0.356675 -> 0.071896
  //   kl = (0 + 0.031595 + 0.071896) / 3 = 0.034497;   loss = -0.466667 + 0.1 * 0.034497 = -0.463217
  // Gradient in x = log pi (per token, / 3 tokens): policy -A * rho where unclipped, else 0; k3: dD/dx = 1 - r
  //   row 0 t0: (-1 * 1 + 0.1 * 0) / 3 = -0.333333
  //   row 0 t1: (0 + 0.1 * (1 - 0.769231)) / 3 = 0.0076923
  //   row 1 t0: (0 + 0.1 * (1 - 1.428571)) / 3 = -0.0142857;   row 1 t1 (padding): 0
  const pi = [
    [0.5, 0.65],
    [0.35, 0.9],
  ];
  // made once the backend is up (beforeAll)
  let half: tf.Tensor2D, mask: tf.Tensor2D, advantages: tf.Tensor1D;
  beforeAll(() => {
    half = tf.fill([2, 2], Math.log(0.5)) as tf.Tensor2D;
    mask = tf.tensor2d([1, 1, 1, 0], [2, 2]);
    advantages = tf.tensor1d([1, -1]);
  });

  it('is the clipped surrogate plus beta times the k3 KL, averaged over the response tokens', async () => {
    const logp = tf.log(tf.tensor2d(pi));
    const { loss, clipRatio, kl } = grpoLoss(logp, half, half, advantages, mask, 0.2, 0.1);
    expect((await loss.data())[0]).toBeCloseTo(-0.463217, 5);
    expect((await clipRatio.data())[0]).toBeCloseTo(2 / 3, 6);
    expect((await kl!.data())[0]).toBeCloseTo(0.034497, 5);
    // beta = 0 with no reference: the surrogate alone, and no kl
    const bare = grpoLoss(logp, half, undefined, advantages, mask, 0.2, 0);
    expect((await bare.loss.data())[0]).toBeCloseTo(-0.466667, 5);
    expect(bare.kl).toBeUndefined();
  });

  it('has the hand-derived gradient in log pi: -A * rho where unclipped, plus beta * (1 - pi_ref/pi) / tokens', async () => {
    const grad = tf.grad((x: tf.Tensor) => grpoLoss(x as tf.Tensor2D, half, half, advantages, mask, 0.2, 0.1).loss)(
      tf.log(tf.tensor2d(pi)),
    );
    const expected = [-1 / 3, (0.1 * (1 - 0.5 / 0.65)) / 3, (0.1 * (1 - 0.5 / 0.35)) / 3, 0];
    expect(expected[1]).toBeCloseTo(0.0076923, 6);
    expect(expected[2]).toBeCloseTo(-0.0142857, 6);
    Array.from(await grad.data()).forEach((g, i) => expect(g, `token ${i}`).toBeCloseTo(expected[i], 5));
    // with the advantages' sign flipped the unclipped token is pushed the other way
    const flipped = tf.grad((x: tf.Tensor) => grpoLoss(x as tf.Tensor2D, half, half, tf.neg(advantages), mask, 0.2, 0.1).loss);
    expect((await flipped(tf.log(tf.tensor2d(pi))).data())[0]).toBeGreaterThan(0);
  });
});

describe('GRPO step', () => {
  it('on equal rewards in every group: frac_reward_zero_std 1, zero advantages, the policy unchanged', async () => {
    const policy = GPT.init(cfg, 3);
    const before = await values(policy.variables());
    const stage = new GrpoStage({
      policy,
      tokenizer,
      prompts,
      rewardFunction: () => 1,
      rewardName: 'constant',
      settings: { steps: 1, prompts_per_step: 2, group_size: 4, response_length: 6, learning_rate: 0.01, seed: 2 },
    });
    const m = await stage.step();
    expect(m).toMatchObject({ frac_reward_zero_std: 1, reward: 1, 'rewards/constant/mean': 1, reward_std: 0, kl: 0 });
    expect(stage.lastSamples.map((s) => s.advantage)).toEqual(Array(8).fill(0));
    expect(new Set(stage.lastSamples.map((s) => s.prompt)).size).toBe(2);
    expect(new Set(stage.lastSamples.slice(0, 4).map((s) => s.response)).size).toBeGreaterThan(1); // a group's completions differ
    expect(await values(policy.variables())).toEqual(before);
    stage.dispose();
    policy.dispose();
  });

  for (const pauseIn of ['sampling', 'update'] as const) {
    it(`paused in its ${pauseIn} phase and resumed, makes exactly the update of a step never paused`, async () => {
      const run = async (control?: GrpoControl) => {
        const policy = GPT.init(cfg, 4);
        const stage = new GrpoStage({
          policy,
          tokenizer,
          prompts,
          rewardFunction: (p, r) => instructionFollowingReward(p, r) + r.length / 100,
          settings: { steps: 2, prompts_per_step: 2, group_size: 3, response_length: 6, learning_rate: 0.01, num_iterations: 2, seed: 3 },
          control,
        });
        return { policy, stage };
      };
      const plain = await run();
      await plain.stage.step();
      const expected = await plain.stage.step();
      let stop = false;
      const phases: string[] = [];
      const paused = await run({
        onPhase: (phase) => {
          phases.push(phase.name);
          if (phase.name === pauseIn && phases.filter((n) => n === pauseIn).length === 1) stop = true; // its first
        },
        shouldStop: () => stop,
      });
      expect(await paused.stage.step()).toEqual({}); // stopped inside step 1
      expect(paused.stage.stepsDone).toBe(0);
      stop = false;
      await paused.stage.step();
      const resumed = await paused.stage.step();
      expect(paused.stage.stepsDone).toBe(2);
      const same = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith('time/')));
      expect(same(resumed)).toEqual(same(expected));
      expect(await values(paused.policy.variables())).toEqual(await values(plain.policy.variables()));
      for (const r of [plain, paused]) {
        r.stage.dispose();
        r.policy.dispose();
      }
    });
  }
});
