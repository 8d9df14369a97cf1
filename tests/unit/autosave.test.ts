/** Autosave round trip: a second session (a reload) restores the model, stages, reward model, PPO's reference, settings and charts. */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeCheckpoint } from '../../src/lib/model/checkpoint';
import { Session } from '../../src/lib/session/session';
import { useWasmBackend } from './setup-tf';

const backend = { name: 'cpu' as const, adapter: 'test', fallbackReasons: [] };

beforeAll(useWasmBackend);

async function session(): Promise<Session> {
  const s = new Session(
    backend,
    () => {},
    async (path) => new Uint8Array(readFileSync(path)),
    { autosave: true },
  );
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
  }, 900_000);
});
