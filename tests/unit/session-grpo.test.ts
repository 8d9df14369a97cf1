/**
 * GRPO through the session (tfjs on wasm, the tiny checkpoint): it is registered; on the learned reward it runs on the
 * reward model, its policy writes the ranking tasks and ends the lineage, a pause asked for while it runs stops it
 * inside a step and the next step() finishes that step, and an autosave restore brings it back paused with its frozen
 * reference. With a verifiable reward it needs no reward model; the gold reward needs a labeler; it refuses to start
 * beside PPO-ptx or DPO, and they beside it.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GrpoStage } from '../../src/lib/rlhf/grpo';
import { MemoryRankingStore } from '../../src/lib/session/rankingStore';
import { Session, type SessionOptions } from '../../src/lib/session/session';
import { BUILT_IN_STAGES } from '../../src/lib/stages/registry';
import { useWasmBackend } from './setup-tf';
import { CPU_BACKEND } from './tiny-session';

/** Every GRPO stage the sessions create, newest last. */
const created: GrpoStage[] = [];
const stages = BUILT_IN_STAGES.map((d) =>
  d.name !== 'grpo'
    ? d
    : {
        ...d,
        create: (...args: Parameters<typeof d.create>) => {
          const stage = d.create(...args) as GrpoStage;
          created.push(stage);
          return stage;
        },
      },
);

const GRPO = { steps: 6, prompts_per_step: 2, group_size: 3, response_length: 8, learning_rate: 1e-3 };

async function grpoSession(options: SessionOptions): Promise<Session> {
  const s = new Session(
    CPU_BACKEND,
    () => {},
    async (path) => new Uint8Array(readFileSync(path)),
    { stages, ...options },
  );
  s.setCorpus({ kind: 'builtin', documents: 300 });
  await s.loadCheckpointUrl('tests/fixtures/tiny-pretrained.safetensors');
  await s.restore();
  return s;
}

async function labelerRanks(s: Session, count: number): Promise<void> {
  s.setLabeler({ labelerId: 'short-answers', agreement: 1, pace: 1, k: 3 });
  for (let i = 0; i < count; i++) expect(await s.labelerTick()).toBe(true);
  s.setLabeler({ labelerId: null, agreement: 1, pace: 1, k: 3 });
}

async function trainReward(s: Session): Promise<void> {
  s.configure('reward', { epochs: 1, rankings_per_batch: 2, held_out_share: 0.3 });
  for (let i = 0; i < 10 && s.status().stages.reward.state !== 'done'; i++) await s.step('reward');
  expect(s.status().stages.reward.state).toBe('done');
}

const values = async (variables: readonly tf.Variable[]) => Promise.all(variables.map(async (v) => Array.from(await v.data())));
const until = async (done: () => boolean) => {
  while (!done()) await new Promise((r) => setTimeout(r, 0));
};

beforeAll(useWasmBackend);

describe('Session: GRPO', () => {
  it('runs on the reward model, pauses inside a step and resumes it, and survives a reload with its reference', async () => {
    const store = new MemoryRankingStore();
    const a = await grpoSession({ store, autosave: true });
    a.startAutosave();
    expect(a.status().stageInfo.map((d) => d.name)).toContain('grpo');
    expect(a.status().settings.grpo).toMatchObject({ reward: 'learned', group_size: 8, beta: 0.04 });
    await labelerRanks(a, 6);
    a.configure('grpo', GRPO);
    await expect(a.step('grpo')).rejects.toThrow(/Train the reward model first: GRPO maximises its score/);
    await trainReward(a);
    await a.step('grpo');
    const grpo = created.at(-1)!;
    expect(a.status().stages.grpo).toMatchObject({ state: 'paused', step: 1, total: GRPO.steps });
    const first = a.history().metrics.grpo.find((p) => p.kind === 'train')!.values;
    for (const name of ['reward', 'reward_std', 'kl', 'frac_reward_zero_std', 'completions/mean_length', 'clip_ratio/region_mean'])
      expect(Number.isFinite(first[name]), name).toBe(true);
    expect(first['rewards/learned/mean']).toBe(first.reward);
    expect(first.kl).toBe(0); // its first step samples from the policy that is its reference

    // its policy writes the ranking tasks and ends the lineage
    const root = a.lineageInfo().lineage.at(-1)!;
    expect(a.lineageInfo().lineage).toEqual(['GRPO step 1', root]);
    expect(await a.nextRankingTask(3)).toMatchObject({ iteration: 1, origin: 'GRPO step 1' });

    // a pause asked for while step 2 is under way stops it at a boundary inside it (or at its end, when the pause came
    // after its last one): paused, no step reported twice or skipped, and the next step() goes on from there
    // (rlhf-grpo.test.ts: a step paused inside and resumed makes exactly the update of one never paused)
    await a.run('grpo');
    await until(() => a.status().stages.grpo.phase !== undefined);
    await a.pause('grpo');
    const paused = a.status().stages.grpo;
    expect(paused.state).toBe('paused');
    expect([1, 2]).toContain(paused.step);
    await a.step('grpo');
    expect(a.status().stages.grpo).toMatchObject({ state: 'paused', step: paused.step + 1 });
    const steps = a
      .history()
      .metrics.grpo.filter((p) => p.kind === 'train')
      .map((p) => p.step);
    expect(steps).toEqual(Array.from({ length: paused.step + 1 }, (_, i) => i + 1));
    const at = paused.step + 1;

    const reference = await values(grpo.reference!.variables());
    const trained = await values(grpo.policy.variables());
    expect(reference).not.toEqual(trained);
    await a.saveNow();

    // a reload: GRPO comes back paused at its step, with the reference it had (not a copy of the restored policy)
    const b = await grpoSession({ store, autosave: true });
    const restored = await b.restoreAutosave();
    expect(restored?.skipped).toEqual([]);
    const back = created.at(-1)!;
    expect(back).not.toBe(grpo);
    expect(b.status().stages.grpo).toMatchObject({ state: 'paused', step: at });
    expect(await values(back.reference!.variables())).toEqual(reference);
    expect(await values(back.policy.variables())).toEqual(trained);
    await b.step('grpo');
    expect(b.status().stages.grpo).toMatchObject({ step: at + 1 });
    const resumed = b
      .history()
      .metrics.grpo.filter((p) => p.kind === 'train')
      .at(-1)!;
    expect(resumed.step).toBe(at + 1);
    expect(resumed.values.kl).toBeGreaterThan(0); // measured against the saved reference, not against itself
    expect(b.lineageInfo().lineage[0]).toBe(`GRPO step ${at + 1}`);
  }, 600_000);

  it('needs no reward model with a verifiable reward, a labeler for the gold one, and refuses beside PPO-ptx and DPO', async () => {
    const s = await grpoSession({ store: new MemoryRankingStore() });
    s.configure('grpo', { ...GRPO, reward: 'gold' });
    await expect(s.step('grpo')).rejects.toThrow(/Turn on a simulated labeler first: GRPO's reward is its gold score/);
    s.configure('grpo', { reward: 'instruction_following', beta: 0 });
    await s.step('grpo');
    expect(s.status().stages.grpo).toMatchObject({ state: 'paused', step: 1 });
    const point = s.history().metrics.grpo.find((p) => p.kind === 'train')!.values;
    expect(point['rewards/instruction_following/mean']).toBe(point.reward);
    expect(point.kl).toBeUndefined(); // beta 0: no reference
    expect(created.at(-1)!.reference).toBeNull();

    // PPO-ptx and DPO wait for GRPO's reset, even PPO-ptx on a verifiable reward
    s.configure('ppo', {
      iterations: 2,
      batch_size: 2,
      mini_batch_size: 2,
      num_ppo_epochs: 1,
      response_length: 8,
      reward: 'instruction_following',
    });
    await expect(s.step('ppo')).rejects.toThrow(/Reset GRPO first: PPO-ptx and GRPO are two branches/);
    await labelerRanks(s, 4);
    await expect(s.step('dpo')).rejects.toThrow(/Reset GRPO first: DPO and GRPO are two branches/);
    await s.reset('grpo');
    await s.step('ppo');
    expect(s.status().stages.ppo).toMatchObject({ state: 'paused', step: 1 });
    await expect(s.step('grpo')).rejects.toThrow(/Reset PPO-ptx first: GRPO and PPO-ptx are two branches/);
    await s.reset('ppo');
    s.configure('dpo', { epochs: 1, rankings_per_batch: 2, held_out_share: 0.25, response_length: 8 });
    await s.step('dpo');
    await expect(s.step('grpo')).rejects.toThrow(/Reset DPO first: GRPO and DPO are two branches/);
  }, 600_000);
});
