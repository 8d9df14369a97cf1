/**
 * PPO-ptx paused inside an iteration: it stops at a minibatch boundary, or while sampling its rollouts, with its
 * counter unchanged and no metrics, and the next step() resumes the same iteration, so the weights and metrics
 * equal an unpaused run's.
 * Its phases (sampling t/T, scoring, update epoch e/E · minibatch m/M) are reported on the way.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GPT } from '../../src/lib/model/gpt';
import { PpoStage, type PpoControl, type PpoPhase } from '../../src/lib/rlhf/ppo';
import { RewardModel } from '../../src/lib/rlhf/rewardModel';
import { TrainingLoop } from '../../src/lib/train/loop';
import { cfg, pretrainTokens, prompts, small, tokenizer } from './ppo-micro';
import { useCpuBackend } from './setup-tf';

beforeAll(useCpuBackend);

function stage(control?: PpoControl) {
  const base = GPT.init(cfg, 11);
  const rm = RewardModel.fromPolicy(base, 3);
  return { ppo: new PpoStage({ policy: base, tokenizer, prompts, rewardModel: rm, pretrainTokens, settings: small, control }), rm };
}

async function flat(ppo: PpoStage): Promise<number[]> {
  const parts = await Promise.all(ppo.policy.variables().map((v) => v.data()));
  return parts.flatMap((p) => Array.from(p as Float32Array));
}

describe('PPO-ptx: phases and a pause inside an iteration', () => {
  it('stops at a minibatch boundary, keeps the counter true, and resumes to the same weights and metrics', async () => {
    const plain = stage();
    const expected = [await plain.ppo.step(), await plain.ppo.step()];
    const expectedWeights = await flat(plain.ppo);

    const phases: PpoPhase[] = [];
    let stopAt = 3; // the 3rd minibatch boundary of the first iteration (epoch 2, minibatch 1)
    let boundaries = 0;
    const paused = stage({
      onPhase: (p) => phases.push(p),
      shouldStop: () => phases.at(-1)?.name === 'update' && ++boundaries === stopAt, // asked while sampling too: count boundaries only
    });
    expect(await paused.ppo.step()).toEqual({});
    expect(paused.ppo.stepsDone).toBe(0);
    stopAt = -1;
    const tensorsWhilePaused = tf.memory().numTensors;
    const first = await paused.ppo.step();
    expect(paused.ppo.stepsDone).toBe(1);
    const second = await paused.ppo.step();
    expect(first).toMatchObject(omitTimes(expected[0]));
    expect(second).toMatchObject(omitTimes(expected[1]));
    expect(await flat(paused.ppo)).toEqual(expectedWeights);
    expect(tf.memory().numTensors).toBeLessThan(tensorsWhilePaused);

    const names = phases.map((p) => p.name);
    expect(names[0]).toBe('sampling');
    expect(phases.find((p) => p.name === 'sampling')?.label).toMatch(/^sampling rollouts 1\/\d+$/);
    expect(names).toContain('scoring');
    expect(phases.filter((p) => p.name === 'update').map((p) => p.label)).toContain('update epoch 2/2 · minibatch 1/2 · with ptx');
    for (const s of [plain, paused]) {
      s.ppo.dispose();
      s.rm.dispose();
    }
  }, 120_000);

  it('stops while sampling the rollouts; the next step samples the same prompts with the same seed, so the run equals an unpaused one', async () => {
    const plain = stage();
    const expected = [await plain.ppo.step(), await plain.ppo.step()];
    const expectedWeights = await flat(plain.ppo);

    const phases: PpoPhase[] = [];
    let stop = true;
    const paused = stage({
      onPhase: (p) => phases.push(p),
      shouldStop: () => stop && /^sampling rollouts 2\//.test(phases.at(-1)?.label ?? ''),
    });
    expect(await paused.ppo.step()).toEqual({});
    expect(paused.ppo.stepsDone).toBe(0);
    expect(phases.map((p) => p.name)).toEqual(['sampling', 'sampling']);
    const afterOnePause = tf.memory().numTensors; // the first call may cache constants; a second pause must add nothing
    phases.length = 0;
    expect(await paused.ppo.step()).toEqual({});
    expect(tf.memory().numTensors).toBe(afterOnePause);
    stop = false;
    const first = await paused.ppo.step();
    const second = await paused.ppo.step();
    expect(first).toMatchObject(omitTimes(expected[0]));
    expect(second).toMatchObject(omitTimes(expected[1]));
    expect(await flat(paused.ppo)).toEqual(expectedWeights);
    for (const s of [plain, paused]) {
      s.ppo.dispose();
      s.rm.dispose();
    }
  }, 120_000);

  it('in the training loop: pause says "pausing" until the stage stops at its boundary, then "paused"; no metrics for the partial step', async () => {
    let loop: TrainingLoop | null = null;
    const { ppo, rm } = stage({ shouldStop: () => loop?.stopRequested ?? false });
    const states: string[] = [];
    const steps: number[] = [];
    loop = new TrainingLoop(ppo, { onState: (s) => states.push(s), onMetrics: (step) => steps.push(step) });
    void loop.run();
    await loop.pause();
    expect(states).toEqual(['running', 'pausing', 'paused']);
    expect(ppo.stepsDone).toBe(0);
    expect(steps).toEqual([]);
    await loop.stepOnce();
    expect(ppo.stepsDone).toBe(1);
    expect(steps).toEqual([1]);
    ppo.dispose();
    rm.dispose();
  }, 120_000);
});

function omitTimes(m: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(m).filter(([k]) => !k.startsWith('time/')));
}
