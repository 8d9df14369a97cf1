/**
 * Autosave round trip: a second session (a reload, a replaced worker) restores the model, stages, reward model, PPO's
 * reference, settings and charts; a changed setting is saved by itself, with no training after it.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../src/lib/model/checkpoint';
import { AUTOSAVE_KEY, type AutosaveRecord } from '../../src/lib/session/autosave';
import { Session } from '../../src/lib/session/session';
import { idbGet, idbPut } from '../../src/lib/storage/idb';
import type { EngineEvent } from '../../src/lib/types';
import { useWasmBackend } from './setup-tf';

const backend = { name: 'cpu' as const, adapter: 'test', fallbackReasons: [] };

beforeAll(useWasmBackend);

async function session(emit: (e: EngineEvent) => void = () => {}): Promise<Session> {
  const s = new Session(backend, emit, async (path) => new Uint8Array(readFileSync(path)), { autosave: true });
  s.setCorpus({ kind: 'builtin', documents: 300 });
  await s.loadCheckpointUrl('tests/fixtures/tiny-pretrained.safetensors');
  await s.restore();
  return s;
}

const weights = async (s: Session) =>
  [...decodeCheckpoint(await s.exportCheckpoint()).tensors].map(([n, t]) => n + Array.from(t.data).join(','));

describe('Autosave', () => {
  it('restores a reload mid-PPO: weights, stages (paused), reward model, settings, metric series; PPO continues', async () => {
    const a = await session();
    await a.clearRankings();
    a.startAutosave();
    a.setLabeler({ labelerId: 'short-answers', agreement: 1, pace: 1, k: 3 });
    for (let i = 0; i < 6; i++) await a.labelerTick();
    a.setLabeler({ labelerId: null, agreement: 1, pace: 1, k: 3 });
    a.configure('reward', { epochs: 1, rankings_per_batch: 2, held_out_share: 0.3 });
    for (let i = 0; i < 10 && a.status().stages.reward.state !== 'done'; i++) await a.step('reward');
    a.configure('ppo', { iterations: 3, batch_size: 2, mini_batch_size: 2, num_ppo_epochs: 1, response_length: 8, kl_coef: 0.07 });
    await a.step('ppo');
    const costMs = await a.saveNow();
    console.log(`autosave (tiny, wasm): ${costMs.toFixed(1)} ms, capture ${a.autosaveCost().captureMs.toFixed(1)} ms`);

    const t0 = performance.now();
    const b = await session();
    const restored = await b.restoreAutosave();
    console.log(`restore (tiny, wasm): ${(performance.now() - t0).toFixed(0)} ms`);
    expect(restored?.skipped).toEqual([]);
    expect(await weights(b)).toEqual(await weights(a));
    expect(b.status().stages.ppo).toMatchObject({ state: 'paused', step: 1, total: 3 });
    expect(b.status().stages.reward.state).toBe('done');
    expect(b.status().settings.ppo.kl_coef).toBe(0.07);
    expect(b.history().metrics.ppo.map((p) => p.step)).toEqual(a.history().metrics.ppo.map((p) => p.step));
    expect(b.history().metrics.reward.length).toBeGreaterThan(0);
    expect(b.status().storage?.savedAt).toBe(restored?.savedAt);
    // the lineage the model card shows comes back with the stages it is read from
    expect(a.lineageInfo().lineage[0]).toBe('PPO-ptx iteration 1');
    expect(b.lineageInfo().lineage).toEqual(a.lineageInfo().lineage);
    expect(b.status().model?.lineage).toEqual(a.lineageInfo().lineage);
    await b.step('ppo');
    expect(b.status().stages.ppo).toMatchObject({ state: 'paused', step: 2 });
    // the next tests write the same autosave record: no late save of this test's sessions may land among theirs
    for (const s of [a, b]) {
      s.haltAutosave();
      await s.saveNow();
    }
  }, 900_000);

  it('saves a changed setting at once: a session replaced with no training since keeps it', async () => {
    const saves: number[] = [];
    const a = await session((e) => e.type === 'saved' && saves.push(e.savedAt));
    a.startAutosave();
    a.configure('pretrain', { steps: 77 });
    a.configure('sft', { learning_rate: 2e-4 }); // while the first save is in flight: queued, not dropped
    for (let i = 0; i < 600 && saves.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(saves).toHaveLength(2);
    // a refused value changes nothing and saves nothing
    expect(() => a.configure('pretrain', { steps: 0 })).toThrow();
    await new Promise((r) => setTimeout(r, 200));
    expect(saves).toHaveLength(2);

    const b = await session();
    expect(b.status().settings.pretrain.steps).toBe(2000); // the default, before the restore
    expect(await b.restoreAutosave()).not.toBeNull();
    expect(b.status().settings.pretrain).toMatchObject({ steps: 77 });
    expect(b.status().settings.sft).toMatchObject({ learning_rate: 2e-4 });
    expect(b.status().stages.pretrain).toMatchObject({ state: 'not-started', step: 0, total: 77 });
    a.haltAutosave(); // the next test edits the saved record: no late save of a's may overwrite it
    await a.saveNow();
  }, 300_000);

  it("restores saved settings through the form's checks: a value out of range keeps its default and is named", async () => {
    const a = await session();
    a.startAutosave();
    a.configure('pretrain', { steps: 77 });
    let record: AutosaveRecord | undefined;
    for (let i = 0; i < 600 && record?.settings.pretrain.steps !== 77; i++) {
      await new Promise((r) => setTimeout(r, 50));
      record = await idbGet<AutosaveRecord>('autosave', AUTOSAVE_KEY);
    }
    // as an older version could have saved it: a learning rate above today's ceiling, and a minibatch that only fits
    // the batch saved after it
    record!.settings.sft = { ...record!.settings.sft, learning_rate: 0.1 };
    const ppo = Object.fromEntries([['mini_batch_size', 24], ...Object.entries(record!.settings.ppo)]);
    record!.settings.ppo = { ...ppo, mini_batch_size: 24, batch_size: 32 }; // the minibatch first: above the default batch
    await idbPut('autosave', AUTOSAVE_KEY, record);

    const b = await session();
    const defaultRate = b.status().settings.sft.learning_rate;
    const restored = await b.restoreAutosave();
    expect(b.status().settings.pretrain).toMatchObject({ steps: 77 });
    expect(b.status().settings.sft.learning_rate).toBe(defaultRate);
    expect(b.status().settings.ppo).toMatchObject({ mini_batch_size: 24, batch_size: 32 });
    expect(restored!.skipped).toHaveLength(1);
    expect(restored!.skipped[0]).toContain('sft.learning_rate = 0.1');
  }, 300_000);
});
