/**
 * DPO through the session (tfjs on wasm, the tiny checkpoint): rankings from a simulated labeler, DPO steps, rankings
 * submitted during DPO joining its set at the next step, ranking tasks written by the DPO policy, the lineage, and an
 * autosave restore that brings DPO back paused with the frozen reference it had; DPO refuses to start beside PPO-ptx;
 * after SFT, the SFT model is its reference (and its panel, rendered on the server, says so).
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { render } from 'svelte/server';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../src/lib/model/checkpoint';
import type { DpoStage } from '../../src/lib/rlhf/dpo';
import { MemoryRankingStore } from '../../src/lib/session/rankingStore';
import { Session, type SessionOptions } from '../../src/lib/session/session';
import { BUILT_IN_STAGES } from '../../src/lib/stages/registry';
import type { StageInfo } from '../../src/lib/types';
import DpoPanel from '../../src/ui/DpoPanel.svelte';
import { engine } from '../../src/ui/engine.svelte';
import { useWasmBackend } from './setup-tf';
import { CPU_BACKEND } from './tiny-session';

/** Every DPO stage the sessions create, newest last (the session keeps its stages to itself). */
const created: DpoStage[] = [];
const stages = BUILT_IN_STAGES.map((d) =>
  d.name !== 'dpo'
    ? d
    : {
        ...d,
        create: (...args: Parameters<typeof d.create>) => {
          const stage = d.create(...args) as DpoStage;
          created.push(stage);
          return stage;
        },
      },
);

const DPO = { epochs: 1, rankings_per_batch: 2, held_out_share: 0.25, response_length: 8 };

async function dpoSession(options: SessionOptions): Promise<Session> {
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

const values = async (variables: readonly tf.Variable[]) => Promise.all(variables.map(async (v) => Array.from(await v.data())));

/** The DPO panel rendered on the server from the engine's status, without Svelte's hydration markers. */
const panelOf = (info: StageInfo) => render(DpoPanel, { props: { info } }).body.replace(/<!--[^]*?-->/g, '');

beforeAll(useWasmBackend);

describe('Session: DPO on the rankings', () => {
  it('takes rankings made during DPO at its next step, writes the tasks, and survives a reload with its reference', async () => {
    const store = new MemoryRankingStore();
    const a = await dpoSession({ store, autosave: true });
    a.startAutosave();
    await expect(a.step('dpo')).rejects.toThrow(/Rank at least two prompts first/);
    await labelerRanks(a, 8);
    a.configure('dpo', DPO);
    await a.step('dpo');
    const dpo = created.at(-1)!;
    expect(dpo.referenceSource).toBe('policy'); // no SFT ran
    // before its first update the policy is its reference: every implicit reward is 0
    expect(a.history().metrics.dpo.find((p) => p.kind === 'train')?.values).toMatchObject({ 'rewards/chosen': 0, 'rewards/margins': 0 });
    const planned = a.status().stages.dpo;
    expect(planned).toMatchObject({ state: 'paused', step: 1 });
    expect(planned.total).toBe(Math.ceil(dpo.counts.train / DPO.rankings_per_batch));

    // the ranking tasks come from the DPO policy, named by its step; the lineage ends with it
    const root = a.lineageInfo().lineage.at(-1)!;
    expect(a.lineageInfo().lineage).toEqual(['DPO step 1', root]);
    const task = await a.nextRankingTask(3);
    expect(task).toMatchObject({ iteration: 1, origin: 'DPO step 1' });

    // rankings submitted during DPO join its set: the training ones add the steps that train on them once
    const before = dpo.counts;
    await a.submitRanking(task.id, [2, 0, 1]);
    const more = [await a.nextRankingTask(3), await a.nextRankingTask(3), await a.nextRankingTask(3)];
    for (const t of more) await a.submitRanking(t.id, [0, 1, 2]);
    const joined = dpo.counts.train - before.train;
    expect(joined + dpo.counts.heldOut - before.heldOut).toBe(4);
    expect(joined).toBeGreaterThan(0);
    expect(dpo.waiting).toBe(joined);
    expect(a.status().stages.dpo.total).toBe(planned.total + Math.ceil(joined / DPO.rankings_per_batch));
    await a.step('dpo');
    expect(dpo.waiting).toBe(Math.max(0, joined - DPO.rankings_per_batch)); // first in the next batch
    expect(a.lineageInfo().lineage).toEqual(['DPO step 2', root]);
    expect((await a.nextRankingTask(3)).origin).toBe('DPO step 2');
    const points = a.history().metrics.dpo;
    for (const name of ['loss', 'rewards/chosen', 'rewards/margins', 'rewards/accuracies', 'logps/rejected'])
      expect(points.filter((p) => p.kind === 'train').every((p) => Number.isFinite(p.values[name]))).toBe(true);

    // the reference stayed where DPO began while the policy moved
    const reference = await values(dpo.reference.variables());
    const trained = await values(dpo.policy.variables());
    expect(reference).not.toEqual(trained);
    await a.saveNow();

    // a reload: DPO comes back paused at its step, with the reference it had (not a copy of the restored policy)
    const b = await dpoSession({ store, autosave: true });
    const restored = await b.restoreAutosave();
    expect(restored?.skipped).toEqual([]);
    const back = created.at(-1)!;
    expect(back).not.toBe(dpo);
    expect(b.status().stages.dpo).toMatchObject({ state: 'paused', step: 2 });
    expect(back.referenceSource).toBe('policy');
    expect(await values(back.reference.variables())).toEqual(reference);
    expect(await values(back.policy.variables())).toEqual(trained);
    expect(b.lineageInfo().lineage).toEqual(['DPO step 2', root]);
    await b.step('dpo');
    expect(b.status().stages.dpo).toMatchObject({ step: 3 });
    // its first step after the restore measures the policy against the saved reference, not against itself
    const resumed = b
      .history()
      .metrics.dpo.filter((p) => p.kind === 'train')
      .at(-1)!;
    expect(resumed.step).toBe(3);
    expect(resumed.values['rewards/chosen']).not.toBe(0);
    expect(resumed.values['rewards/margins']).not.toBe(0);
    expect(b.lineageInfo().lineage[0]).toBe('DPO step 3');
    expect(await values(back.reference.variables())).toEqual(reference);
  }, 600_000);

  it('refuses to start while PPO-ptx exists, and PPO-ptx while it exists, and says why', async () => {
    const s = await dpoSession({ store: new MemoryRankingStore() });
    await labelerRanks(s, 6);
    s.configure('reward', { epochs: 1, rankings_per_batch: 2, held_out_share: 0.3 });
    for (let i = 0; i < 10 && s.status().stages.reward.state !== 'done'; i++) await s.step('reward');
    s.configure('ppo', { iterations: 2, batch_size: 2, mini_batch_size: 2, num_ppo_epochs: 1, response_length: 8 });
    await s.step('ppo');
    await expect(s.step('dpo')).rejects.toThrow(/Reset PPO-ptx first: DPO and PPO-ptx are two branches/);
    expect(s.status().stages.dpo.state).toBe('not-started');
    await s.reset('ppo');
    // no held-out share: ranking ids carry the time, so the split of 6 rankings is a draw, and with 4 held out (1 in 26)
    // DPO had one step and ended after it
    s.configure('dpo', { ...DPO, held_out_share: 0 });
    await s.step('dpo');
    expect(s.status().stages.dpo).toMatchObject({ state: 'paused', step: 1 });
    // and the other way round: PPO-ptx waits for DPO's reset
    await expect(s.step('ppo')).rejects.toThrow(/Reset DPO first: PPO-ptx and DPO are two branches/);
    expect(s.status().stages.ppo.state).toBe('not-started');
    await s.reset('dpo');
    await s.step('ppo');
    expect(s.status().stages.ppo).toMatchObject({ state: 'paused', step: 1 });
  }, 600_000);

  it('after SFT: the frozen SFT model is its reference, the lineage and the panel say so', async () => {
    const s = await dpoSession({ store: new MemoryRankingStore() });
    await labelerRanks(s, 6);
    const info = s.status().stageInfo.find((d) => d.name === 'dpo')!;
    engine.status = s.status();
    expect(panelOf(info)).toContain('π<sub>ref</sub> will be the policy as DPO found it: no SFT ran');

    await s.addDemonstration('Write a short story about Tom.', 'Tom went to the park. He was happy. The end.');
    s.configure('sft', { epochs: 1, demonstrations: 8, batch_size: 4, instruction_prompts: 4 });
    for (let i = 0; i < 50 && s.status().stages.sft.state !== 'done'; i++) await s.step('sft');
    const sft = decodeCheckpoint(await s.exportCheckpoint()).tensors;
    s.configure('dpo', DPO);
    await s.step('dpo');
    const dpo = created.at(-1)!;
    expect(dpo.referenceSource).toBe('sft');
    for (const [name, v] of dpo.reference.params) expect(Array.from(await v.data()), name).toEqual(Array.from(sft.get(name)!.data));
    expect(s.lineageInfo().lineage.slice(0, 2)).toEqual(['DPO step 1', 'SFT']);
    engine.status = s.status();
    const panel = panelOf(info);
    expect(panel).toContain('data-testid="dpo-reference" data-source="sft"');
    expect(panel).toContain('π<sub>ref</sub> is the frozen SFT model.');
  }, 600_000);
});
