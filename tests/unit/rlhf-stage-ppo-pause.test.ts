/**
 * PPO-ptx paused inside an iteration: it stops at a minibatch boundary, or while sampling its rollouts, with its
 * counter unchanged and no metrics, and the next step() resumes the same iteration, so the weights and metrics
 * equal an unpaused run's.
 * Its phases (sampling t/T tokens, scoring, update epoch e/E · minibatch m/M) are reported on the way.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GPT } from '../../src/lib/model/gpt';
import { PpoStage, type PpoControl, type PpoPhase } from '../../src/lib/rlhf/ppo';
import { RewardModel } from '../../src/lib/rlhf/rewardModel';
import { TrainingLoop } from '../../src/lib/train/loop';
import { cfg, pretrainTokens, prompts, small, tokenizer } from './ppo-micro';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

function stage(control?: PpoControl) {
  const base = GPT.init(cfg, 11);
  const rm = RewardModel.fromPolicy(base, 3);
  return { ppo: new PpoStage({ policy: base, tokenizer, prompts, rewardModel: rm, pretrainTokens, settings: small, control }), rm };
}

/** The policy's weights before any step (every stage() starts from the same seed). */
let initial: number[] = [];
beforeAll(async () => {
  const { ppo, rm } = stage();
  initial = await flat(ppo);
  ppo.dispose();
  rm.dispose();
});

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
    expect(phases.find((p) => p.name === 'sampling')?.label).toMatch(/^sampling rollouts 1\/\d+ tokens$/);
    // in the unit of response_length: response tokens written per response, of the response length
    const sampling = phases.filter((p) => p.name === 'sampling');
    expect(sampling.map((p) => p.total)).toEqual(sampling.map(() => Number(small.response_length)));
    expect(sampling.at(-1)?.done).toBeLessThanOrEqual(Number(small.response_length));
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

  it("a minibatch in parts (gradient accumulation) gives the whole minibatch's update; a pause between parts redoes it on resume", async () => {
    const plain = stage();
    const expected = [await plain.ppo.step(), await plain.ppo.step()];
    const expectedWeights = await flat(plain.ppo);

    // partMs 0: one row a part, each part yielding and asking whether to stop
    const inParts = stage({ partMs: 0 });
    const split = [await inParts.ppo.step(), await inParts.ppo.step()];
    const splitWeights = await flat(inParts.ppo);
    for (const [i, m] of split.entries()) for (const [k, v] of Object.entries(omitTimes(expected[i]))) expect(m[k], k).toBeCloseTo(v, 4);
    const drift = Math.max(...splitWeights.map((w, i) => Math.abs(w - expectedWeights[i])));
    const moved = Math.max(...expectedWeights.map((w, i) => Math.abs(w - (initial[i] ?? w))));
    expect(drift).toBeLessThan(1e-4);
    expect(moved).toBeGreaterThan(1e-3); // the comparison is not between two untrained models

    const phases: PpoPhase[] = [];
    let asked = 0;
    let stopAt = 2; // the first call comes at minibatch 1's boundary; the second between its first two parts
    const paused = stage({
      partMs: 0,
      onPhase: (p) => phases.push(p),
      shouldStop: () => phases.at(-1)?.name === 'update' && ++asked === stopAt,
    });
    expect(await paused.ppo.step()).toEqual({});
    expect(paused.ppo.stepsDone).toBe(0);
    expect(phases.filter((p) => p.name === 'update').map((p) => p.label)).toEqual(['update epoch 1/2 · minibatch 1/2 · with ptx']);
    stopAt = -1;
    const first = await paused.ppo.step();
    const second = await paused.ppo.step();
    expect(first).toMatchObject(omitTimes(split[0]));
    expect(second).toMatchObject(omitTimes(split[1]));
    expect(await flat(paused.ppo)).toEqual(splitWeights);

    // a pause between the scoring's parts: the next step scores the same responses again (not sampled anew)
    const scoringPhases: PpoPhase[] = [];
    let stopScoring = true;
    const pausedScoring = stage({
      partMs: 0,
      onPhase: (p) => scoringPhases.push(p),
      shouldStop: () => stopScoring && scoringPhases.at(-1)?.name === 'scoring',
    });
    expect(await pausedScoring.ppo.step()).toEqual({});
    stopScoring = false;
    scoringPhases.length = 0;
    expect(await pausedScoring.ppo.step()).toMatchObject(omitTimes(split[0]));
    expect(scoringPhases[0].name).toBe('scoring');
    expect(await pausedScoring.ppo.step()).toMatchObject(omitTimes(split[1]));
    expect(await flat(pausedScoring.ppo)).toEqual(splitWeights);
    for (const s of [plain, inParts, paused, pausedScoring]) {
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
