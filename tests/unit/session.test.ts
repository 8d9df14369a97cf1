import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/lib/types';
import { Session } from '../../src/lib/session/session';
import { decodeCheckpoint } from '../../src/lib/model/checkpoint';
import { useWasmBackend } from './setup-tf';

const backend = { name: 'cpu' as const, adapter: 'test', fallbackReasons: [] };

async function tinyEngine(events: EngineEvent[] = []): Promise<Session> {
  const engine = new Session(
    backend,
    (e) => events.push(e),
    async () => new Uint8Array(),
  );
  engine.setCorpus({ kind: 'builtin', documents: 300 });
  engine.newModel({ preset: 'tiny', tokenizer: 'bpe', vocabSize: 300 });
  engine.configure('pretrain', { batch_size: 4, steps: 50, eval_every: 1000, sample_every: 1000, warmup_steps: 0 });
  return engine;
}

/** The weights in a checkpoint file, as one byte string per tensor (the header's timestamp aside). */
function weightBytes(bytes: Uint8Array): string[] {
  return [...decodeCheckpoint(bytes).tensors].map(([name, t]) => name + Buffer.from(t.data.buffer).toString('base64'));
}

beforeAll(useWasmBackend);

describe('Session', () => {
  it('keeps tf.memory().numTensors flat from one training step to the next', async () => {
    const engine = await tinyEngine();
    await engine.step('pretrain');
    await engine.step('pretrain');
    const after2 = tf.memory().numTensors;
    for (let i = 0; i < 4; i++) await engine.step('pretrain');
    expect(tf.memory().numTensors).toBe(after2);
    expect(engine.status().stages.pretrain).toMatchObject({ state: 'paused', step: 6, total: 50 });
  });

  it('refuses an out-of-range setting with a message and keeps the old value', async () => {
    const engine = await tinyEngine();
    expect(() => engine.configure('pretrain', { learning_rate: 5 })).toThrow(/Learning rate must be between 0.000001 and 0.03; got 5/);
    expect(() => engine.configure('ppo', { kl_estimator: 'k9' })).toThrow(/one of k1, k3/);
    expect(() => engine.configure('pretrain', { nonsense: 1 })).toThrow(/Unknown setting/);
    expect(engine.status().settings.pretrain.learning_rate).toBe(3e-3);
  });

  it('a corrupt checkpoint import throws and leaves the current model untouched', async () => {
    const engine = await tinyEngine();
    const before = await engine.exportCheckpoint();
    const broken = before.slice(0, before.length - 10);
    await expect(engine.importCheckpoint(broken, 'broken.safetensors')).rejects.toThrow(/Cannot load this checkpoint/);
    await expect(engine.importCheckpoint(new Uint8Array([1, 2, 3]), 'x')).rejects.toThrow(/too short/);
    expect(weightBytes(await engine.exportCheckpoint())).toEqual(weightBytes(before));
    expect(engine.status().model?.source).toBe('new tiny model');
  });

  it('checkCheckpoint names why a file would be refused, changes nothing, and passes a good policy file', async () => {
    const engine = await tinyEngine();
    const good = await engine.exportCheckpoint();
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 0, 1]);
    expect(engine.checkCheckpoint(png)).toMatch(/^Cannot load this checkpoint: the header length does not fit the file/);
    expect(engine.checkCheckpoint(new TextEncoder().encode('just some notes, not weights\n'))).toMatch(/^Cannot load this checkpoint: /);
    expect(engine.checkCheckpoint(good.slice(0, good.length - 10))).toMatch(/^Cannot load this checkpoint: /);
    expect(engine.checkCheckpoint(good)).toBeNull();
    expect(weightBytes(await engine.exportCheckpoint())).toEqual(weightBytes(good));
    expect(engine.status().model?.source).toBe('new tiny model');
  });

  it('tells the UI which stage scores the rankings (the reward model) through its stage info', async () => {
    const engine = await tinyEngine();
    expect(
      engine
        .status()
        .stageInfo.filter((s) => s.scoresRankings)
        .map((s) => s.name),
    ).toEqual(['reward']);
  });

  it('rejects an empty or binary corpus with a message and keeps the current one', async () => {
    const engine = await tinyEngine();
    const corpus = engine.status().corpus;
    expect(() => engine.setCorpus({ kind: 'user', name: 'empty.txt', text: '   \n ' })).toThrow(/empty/i);
    expect(() => engine.setCorpus({ kind: 'user', name: 'bin', text: 'abc\u0000\u0001\u0002'.repeat(500) })).toThrow(/binary/i);
    expect(engine.status().corpus).toEqual(corpus);
  });

  it('trains on a pasted corpus, samples, and reset restores the weights from before the stage', async () => {
    const events: EngineEvent[] = [];
    const engine = await tinyEngine(events);
    const text = Array.from({ length: 60 }, (_, i) => `The cat number ${i} sat on the mat and looked at the moon.`).join('\n\n');
    expect(engine.setCorpus({ kind: 'user', name: 'cats.txt', text }).documents).toBe(60);
    const before = await engine.exportCheckpoint();
    await engine.step('pretrain');
    expect(weightBytes(await engine.exportCheckpoint())).not.toEqual(weightBytes(before));
    await engine.reset('pretrain');
    expect(weightBytes(await engine.exportCheckpoint())).toEqual(weightBytes(before));
    const samples = await engine.sample({ prompts: ['The cat', ''], maxNewTokens: 8, seed: 3 });
    expect(samples).toHaveLength(2);
    expect(samples[0].prompt).toBe('The cat');
    expect(events.some((e) => e.type === 'state' && e.stage === 'pretrain')).toBe(true);
  });
});
