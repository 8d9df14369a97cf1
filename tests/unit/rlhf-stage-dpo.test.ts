/**
 * The DPO stage's mechanics on the micro world of the PPO tests (a one-layer model): TRL's metric names, a frozen
 * reference, rankings that arrive during the run, a step in parts and a pause inside it, the held-out figures, and a
 * restore after a bad step. Its learning is tested in rlhf-stage-dpo-learning.test.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateDemonstrations } from '../../src/lib/data/world';
import { GPT } from '../../src/lib/model/gpt';
import { DpoStage, type DpoControl, type DpoPhase, type DpoSettings } from '../../src/lib/rlhf/dpo';
import { DPO_METRIC_NAMES } from '../../src/lib/rlhf/metrics';
import type { Ranking } from '../../src/lib/rlhf/rankings';
import { heldOutOf, isHeldOut } from '../../src/lib/rlhf/rewardTrainer';
import { cfg, prompts, tokenizer } from './ppo-micro';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

const settings: Partial<DpoSettings> = { rankings_per_batch: 3, epochs: 2, learning_rate: 3e-3, held_out_share: 0.3, response_length: 6 };
const demos = generateDemonstrations(3, 200).map((d) => ' ' + d.response.split('.')[0] + '.');

/** Rankings of K = 2 to 4 short completions; the first `count` ids that fall on the wanted side of the split. */
function rankings(count: number, heldOut: boolean, from = 0): Ranking[] {
  const out: Ranking[] = [];
  for (let i = from; out.length < count; i++) {
    const id = `r${i}`;
    if (isHeldOut(id, settings.held_out_share!) !== heldOut) continue;
    const k = 2 + (i % 3);
    const completions = demos.slice((3 * i) % 190, ((3 * i) % 190) + k);
    const order = completions.map((_, j) => (j + i) % k);
    out.push({ id, prompt: prompts[i % prompts.length], completions, order, createdAt: 0, source: 'labeler' });
  }
  return out;
}

const train = rankings(7, false);
const held = rankings(3, true);

function stage(control?: DpoControl, extra: Partial<DpoSettings> = {}): DpoStage {
  return new DpoStage({
    policy: GPT.init(cfg, 11),
    tokenizer,
    rankings: [...train, ...held],
    evalPrompts: prompts.slice(0, 4),
    goldScorer: (text) => -text.length,
    settings: { ...settings, ...extra },
    control,
  });
}

async function flat(vars: tf.Variable[]): Promise<number[]> {
  const parts = await Promise.all(vars.map((v) => v.data()));
  return parts.flatMap((p) => Array.from(p as Float32Array));
}

describe('DPO stage', () => {
  it("reports TRL's DPO metrics, trains the policy, keeps the reference frozen and leaks no tensors", async () => {
    const dpo = stage();
    expect(dpo.referenceSource).toBe('policy');
    expect(dpo.counts).toEqual({ train: 7, heldOut: 3 });
    expect(dpo.totalSteps).toBe(2 * Math.ceil(7 / 3));
    const referenceBefore = await flat(dpo.reference.variables());
    const policyBefore = await flat(dpo.policy.variables());
    const first = await dpo.step();
    for (const name of DPO_METRIC_NAMES) expect(first[name], name).toBeTypeOf('number');
    for (const [name, value] of Object.entries(first)) expect(Number.isFinite(value), name).toBe(true);
    // at the first step the policy is the reference: every implicit reward is 0, the loss ln 2
    expect(first.loss).toBeCloseTo(Math.log(2), 5);
    expect(first['rewards/chosen']).toBeCloseTo(0, 6);
    expect(first['rewards/margins']).toBeCloseTo(0, 6);
    expect(first['rewards/accuracies']).toBe(0);
    expect(first['logps/chosen']).toBeLessThan(0);
    await dpo.step();
    const tensors = tf.memory().numTensors;
    const third = await dpo.step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(third['rewards/margins']).toBeGreaterThan(0); // the preferred completions gained on the others
    expect(third['rewards/chosen']! - third['rewards/rejected']!).toBeCloseTo(third['rewards/margins']!, 5);
    expect(await flat(dpo.reference.variables())).toEqual(referenceBefore);
    expect(await flat(dpo.policy.variables())).not.toEqual(policyBefore);
    dpo.dispose();
  });

  it('evaluates held-out preference accuracy with its interval, KL to the reference and the gold score', async () => {
    const dpo = stage();
    const before = await dpo.evaluate();
    const heldOut = heldOutOf(before)!;
    expect(heldOut.pairs).toBe(held.reduce((n, r) => n + (r.order.length * (r.order.length - 1)) / 2, 0));
    expect(heldOut.accuracy).toBe(0); // no implicit reward is above another before training
    expect(before['objective/kl']).toBeCloseTo(0, 5);
    expect(before['objective/gold']).toBeLessThan(0);
    while (dpo.stepsDone < dpo.totalSteps) await dpo.step();
    const after = await dpo.evaluate();
    expect(after.pair_accuracy_low).toBeLessThanOrEqual(after.pair_accuracy);
    expect(after.pair_accuracy_high).toBeGreaterThanOrEqual(after.pair_accuracy);
    expect(Math.abs(after['objective/kl'])).toBeGreaterThan(1e-4);
    dpo.dispose();
  });

  it('rankings added during the run wait for the next step, which trains on them, and add their steps', async () => {
    const dpo = stage();
    await dpo.step();
    const planned = dpo.totalSteps;
    dpo.addRankings([...rankings(2, false, 1000), ...rankings(1, true, 1000), train[0]]); // train[0]: seen before, skipped
    expect(dpo.counts).toEqual({ train: 9, heldOut: 4 });
    expect(dpo.waiting).toBe(2);
    expect(dpo.totalSteps).toBe(planned + 1);
    await dpo.step();
    expect(dpo.waiting).toBe(0);
    dpo.dispose();
  });

  it("a step in parts gives the whole step's update; a pause between parts redoes it on resume", async () => {
    const whole = stage();
    const expected = [await whole.step(), await whole.step()];
    const expectedWeights = await flat(whole.policy.variables());

    const inParts = stage({ partMs: 0 }); // one ranking a part
    const split = [await inParts.step(), await inParts.step()];
    for (const [i, m] of split.entries()) for (const [k, v] of Object.entries(expected[i])) expect(m[k], k).toBeCloseTo(v, 4);
    const splitWeights = await flat(inParts.policy.variables());
    expect(Math.max(...splitWeights.map((w, i) => Math.abs(w - expectedWeights[i])))).toBeLessThan(1e-4);

    const phases: DpoPhase[] = [];
    let asked = 0;
    let stopAt = 2; // asked at the update's boundary first, then between its first two parts
    const paused = stage({
      partMs: 0,
      onPhase: (p) => phases.push(p),
      shouldStop: () => phases.at(-1)?.name === 'update' && ++asked === stopAt,
    });
    expect(await paused.step()).toEqual({});
    expect(paused.stepsDone).toBe(0);
    expect(phases.map((p) => p.name)).toContain('reference');
    stopAt = -1;
    expect(await paused.step()).toEqual(split[0]);
    expect(await paused.step()).toEqual(split[1]);
    expect(await flat(paused.policy.variables())).toEqual(splitWeights);
    for (const s of [whole, inParts, paused]) s.dispose();
  });

  it('restoreLastGood puts back the weights from the start of the last step', async () => {
    const dpo = stage();
    await dpo.step();
    const afterOne = await flat(dpo.policy.variables());
    await dpo.step();
    expect(dpo.restoreLastGood()).toBe(1);
    expect(dpo.stepsDone).toBe(1);
    expect(await flat(dpo.policy.variables())).toEqual(afterOne);
    dpo.dispose();
  });

  it('takes a given reference as its own (not owned) and says what it is', async () => {
    const sft = GPT.init(cfg, 11);
    const dpo = new DpoStage({ policy: sft.clone(), reference: sft, startsFrom: 'sft', tokenizer, rankings: train, settings });
    expect(dpo.reference).toBe(sft);
    expect(dpo.referenceSource).toBe('sft');
    dpo.dispose();
    expect((await sft.variables()[0].data()).length).toBeGreaterThan(0); // still usable: not disposed with the stage
    sft.dispose();
  });
});
