import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { summariseFollowing } from '../../src/lib/data/instructionFollowing';
import { GPT } from '../../src/lib/model/gpt';
import { TrainingLoop } from '../../src/lib/train/loop';
import { PPO_METRIC_NAMES } from '../../src/lib/rlhf/metrics';
import { PpoStage, type PpoSettings } from '../../src/lib/rlhf/ppo';
import { RewardModel } from '../../src/lib/rlhf/rewardModel';
import { rolloutShape } from '../../src/lib/rlhf/rollout';
import { cfg, pretrainTokens, prompts, small, tokenizer } from './ppo-micro';
import { useWasmBackend } from './setup-tf';

async function weights(vars: tf.Variable[]): Promise<Float32Array[]> {
  return Promise.all(vars.map(async (v) => (await v.data()) as Float32Array));
}

function sameWeights(a: Float32Array[], b: Float32Array[]): boolean {
  return a.length === b.length && a.every((x, i) => x.length === b[i].length && x.every((v, j) => Object.is(v, b[i][j])));
}

/** A stage on copies of one base policy and reward model, so that runs are comparable. */
function stageFrom(base: GPT, rm: RewardModel, settings: Partial<PpoSettings>, withPtxData = true): PpoStage {
  return new PpoStage({
    policy: base.clone(),
    tokenizer,
    prompts,
    rewardModel: rm,
    pretrainTokens: withPtxData ? pretrainTokens : undefined,
    settings: { ...small, ...settings },
  });
}

beforeAll(useWasmBackend);

describe('PPO stage', () => {
  const base = () => GPT.init(cfg, 11);

  it('fits rollouts in the context: prompts cut from the left, rows as short as they can be', () => {
    expect(rolloutShape([5, 12, 9], 64, 20)).toEqual({ promptTokens: 12, responseTokens: 20, time: 32 });
    expect(rolloutShape([50], 64, 20)).toEqual({ promptTokens: 44, responseTokens: 20, time: 64 });
    expect(rolloutShape([5], 16, 40)).toEqual({ promptTokens: 1, responseTokens: 15, time: 16 });
  });

  it('reports every TRL metric, starts at KL 0, keeps the reference frozen and leaks no tensors', async () => {
    const policy = base();
    const rm = RewardModel.fromPolicy(policy, 3);
    const stage = new PpoStage({
      policy,
      tokenizer,
      prompts,
      rewardModel: rm,
      pretrainTokens,
      goldScorer: (t) => -t.length,
      settings: small,
    });
    const referenceBefore = await weights(stage.reference.variables());
    const policyBefore = await weights(policy.variables());
    const first = await stage.step();
    for (const name of PPO_METRIC_NAMES) expect(first[name], name).toBeTypeOf('number');
    for (const [name, value] of Object.entries(first)) expect(Number.isFinite(value), name).toBe(true);
    expect(first['objective/kl']).toBe(0); // the first rollouts come from a policy equal to the reference
    expect(first['objective/kl_coef']).toBe(0.05);
    expect(first['objective/gold']).toBeLessThan(0);
    expect(first.episode).toBe(4);
    expect(stage.lastSamples).toHaveLength(4);
    const following = summariseFollowing(stage.lastSamples.map((x) => ({ prompt: x.prompt, response: x.response })));
    expect(following.total).toBeGreaterThan(0);
    expect(first['objective/instruction_following']).toBe(following.share);
    expect(prompts).toContain(stage.lastSamples[0].prompt);
    const tensors = tf.memory().numTensors;
    await stage.step();
    expect(tf.memory().numTensors).toBe(tensors);
    const third = await stage.step();
    expect(tf.memory().numTensors).toBe(tensors);
    // each sample's KL is the k3 estimate: never negative, and zero only where the policy still equals the reference
    for (const x of stage.lastSamples) expect(x.klK3).toBeGreaterThanOrEqual(0);
    expect(Math.max(...stage.lastSamples.map((x) => x.klK3))).toBeGreaterThan(0);
    expect(third.episode).toBe(12);
    expect(third['objective/kl']).not.toBe(0);
    expect(sameWeights(await weights(stage.reference.variables()), referenceBefore)).toBe(true);
    expect(sameWeights(await weights(policy.variables()), policyBefore)).toBe(false);
    const reference = await stage.sampleReference(prompts.slice(0, 2));
    expect(reference.map((r) => r.prompt)).toEqual(prompts.slice(0, 2));
    stage.dispose();
    rm.dispose();
    policy.dispose();
  });

  it('ptx_coef = 0 updates exactly as without pretraining data; ptx_coef > 0 changes the update', async () => {
    const policy = base();
    const rm = RewardModel.fromPolicy(policy, 3);
    const runs = [
      stageFrom(policy, rm, { ptx_coef: 0 }, true),
      stageFrom(policy, rm, { ptx_coef: 0 }, false),
      stageFrom(policy, rm, { ptx_coef: 2 }, true),
    ];
    const after: Float32Array[][] = [];
    const metrics = [];
    for (const run of runs) {
      metrics.push(await run.step());
      after.push(await weights(run.policy.variables()));
    }
    expect(sameWeights(after[0], after[1])).toBe(true);
    expect(sameWeights(after[0], after[2])).toBe(false);
    expect(metrics[1]['ptx/loss']).toBeUndefined(); // no pretraining data: nothing to report
    expect(metrics[0]['ptx/loss']).toBeGreaterThan(0); // monitored, not trained on
    expect(metrics[2]['ptx/loss']).toBeGreaterThan(0);
    for (const run of runs) {
      run.policy.dispose();
      run.dispose();
    }
    rm.dispose();
    policy.dispose();
  });

  it('scores the next iteration with a replaced reward model', async () => {
    const policy = base();
    const rm = RewardModel.fromPolicy(policy, 3);
    const stage = stageFrom(policy, rm, { num_ppo_epochs: 1, learning_rate: 0, missing_eos_penalty: 0 });
    const shifted = rm.clone();
    shifted.normalise(-100); // b += 100
    const before = await stage.step();
    stage.setRewardModel(shifted);
    const after = await stage.step();
    expect(after['objective/scores'] - before['objective/scores']).toBeGreaterThan(90);
    stage.policy.dispose();
    stage.dispose();
    [rm, shifted, policy].forEach((m) => m.dispose());
  });

  it('runs with adaptive KL, the k3 estimator and whitened rewards', async () => {
    const policy = base();
    const stage = new PpoStage({
      policy,
      tokenizer,
      prompts,
      rewardFunction: (_, response) => response.length / 10,
      settings: { ...small, adaptive_kl: true, kl_target: 0.01, kl_horizon: 10, kl_estimator: 'k3', whiten_rewards: true },
    });
    const first = await stage.step();
    const second = await stage.step();
    const third = await stage.step();
    for (const [name, value] of Object.entries(third)) expect(Number.isFinite(value), name).toBe(true);
    expect(first['objective/kl_coef']).toBe(0.05);
    expect(second['objective/kl_coef']).toBeCloseTo(0.05 * (1 - (0.2 * 4) / 10), 8); // KL 0 < target: err = -0.2
    expect(third['objective/kl']).toBeGreaterThanOrEqual(0); // k3 is never negative
    expect(third['objective/kl_coef']).toBeGreaterThan(second['objective/kl_coef']); // KL above the tiny target: beta rises
    stage.dispose();
    policy.dispose();
  });

  it('stops the loop with a message on a non-finite loss and keeps the weights', async () => {
    const policy = base();
    const stage = new PpoStage({ policy, tokenizer, prompts, rewardFunction: () => NaN, settings: small });
    const before = await weights(policy.variables());
    const loop = new TrainingLoop(stage);
    await loop.run();
    expect(loop.state).toBe('error');
    expect(loop.message).toMatch(/^Stopped at step 1: .* became NaN\. The weights from before the stage are restored/);
    expect(sameWeights(await weights(policy.variables()), before)).toBe(true);
    stage.dispose();
    policy.dispose();
  });

  it('a NaN injected mid-iteration stops the loop with the weights at the end of the last completed iteration, and says which', async () => {
    const policy = base();
    let poison = false;
    const stage: PpoStage = new PpoStage({
      policy,
      tokenizer,
      prompts,
      rewardFunction: (_, response) => response.length / 10,
      settings: small,
      control: {
        shouldStop: () => false,
        // before the second minibatch of iteration 3: the first one has already moved the weights
        onPhase: (phase) => {
          if (!poison || phase.name !== 'update' || phase.done !== 1) return;
          poison = false;
          const wte = policy.variables()[0];
          wte.assign(tf.fill(wte.shape, NaN));
        },
      },
    });
    const trained = () => [...policy.variables(), ...stage.valueModel.variables()];
    const start = await weights(trained());
    await stage.step();
    await stage.step();
    const atEndOf2 = await weights(trained());
    expect(sameWeights(atEndOf2, start)).toBe(false);
    poison = true;
    const loop = new TrainingLoop(stage, {}, { stepLabel: 'iteration' });
    await loop.run();
    expect(poison).toBe(false); // the NaN went in
    expect(loop.state).toBe('error');
    expect(loop.message).toMatch(
      /^Stopped at iteration 3: \S+ became NaN\. The weights from the end of iteration 2 are restored; try a lower learning rate\.$/,
    );
    expect(stage.stepsDone).toBe(2);
    expect(sameWeights(await weights(trained()), atEndOf2)).toBe(true);
    stage.dispose();
    policy.dispose();
  });
});
