import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { configFromPreset, countParams, PRESETS, type ModelConfig } from '../../src/lib/model/config';
import { GPT, type KvCache } from '../../src/lib/model/gpt';
import { lmLoss, logProbsOfTokens } from '../../src/lib/model/logprobs';
import { sample } from '../../src/lib/model/sampler';
import { AdamW, readStep } from '../../src/lib/train/adamw';
import { useWasmBackend } from './setup-tf';

const cfg: ModelConfig = { vocabSize: 23, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16 };

function ids(rows: number[][]): tf.Tensor2D {
  return tf.tensor2d(rows, undefined, 'int32');
}

beforeAll(useWasmBackend);

describe('GPT', () => {
  it('presets span tiny (~0.1M) to small (3-5M) parameters', () => {
    expect(countParams(configFromPreset('tiny', 300))).toBeGreaterThan(60_000);
    expect(countParams(configFromPreset('tiny', 300))).toBeLessThan(150_000);
    expect(countParams(configFromPreset('small', 512))).toBeGreaterThan(3_000_000);
    expect(countParams(configFromPreset('small', 512))).toBeLessThan(5_500_000);
    expect(Object.keys(PRESETS)).toEqual(['tiny', 'mini', 'small']);
  });

  it('gives logits of shape [B, T, V] and counts its parameters', () => {
    const model = GPT.init(cfg, 1);
    const logits = model.logits(
      ids([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [0, 0, 0, 0],
      ]),
    );
    expect(logits.shape).toEqual([3, 4, 23]);
    const total = model.variables().reduce((n, v) => n + v.size, 0);
    expect(total).toBe(countParams(cfg));
    logits.dispose();
    model.dispose();
  });

  it('is causal: changing a later token never changes an earlier position', async () => {
    const model = GPT.init(cfg, 2);
    const a = await model.logits(ids([[3, 1, 4, 1, 5, 9, 2, 6]])).array();
    const b = await model.logits(ids([[3, 1, 4, 1, 7, 7, 7, 7]])).array();
    for (let t = 0; t < 4; t++) for (let v = 0; v < cfg.vocabSize; v++) expect(b[0][t][v]).toBe(a[0][t][v]);
    expect(b[0][4][0]).not.toBe(a[0][4][0]);
    model.dispose();
  });

  it('cached decoding gives the logits of a full forward pass (1e-4)', async () => {
    const model = GPT.init(cfg, 3);
    const seq = [
      [2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5],
      [1, 4, 1, 4, 2, 1, 3, 5, 6, 2, 3, 7, 3, 0, 9, 5],
    ];
    const full = await model.logits(ids(seq)).array();
    const start = 3;
    // prefill the first `start` positions (padded to the context), then step one position at a time
    const prefillRows = seq.map((r) => r.map((tok, t) => (t < start ? tok : 0)));
    let cache: KvCache = { keys: [], values: [] };
    model.hidden(ids(prefillRows), cache).dispose();
    for (let t = start; t < cfg.blockSize; t++) {
      const step = model.decodeStep(
        tf.tensor1d(
          seq.map((r) => r[t]),
          'int32',
        ),
        t,
        cache,
      );
      const got = await step.logits.array();
      for (let b = 0; b < 2; b++) for (let v = 0; v < cfg.vocabSize; v++) expect(Math.abs(got[b][v] - full[b][t][v])).toBeLessThan(1e-4);
      cache = step.cache;
    }
    model.dispose();
  });

  it('logProbsOfTokens matches a hand computation from the logits, with temperature', async () => {
    const model = GPT.init(cfg, 4);
    const row = [5, 3, 9, 1];
    const temperature = 0.7;
    const logits = await model.logits(ids([row])).array();
    const got = await logProbsOfTokens(model, ids([row]), temperature).array();
    for (let t = 0; t < row.length - 1; t++) {
      const scaled = logits[0][t].map((l) => l / temperature);
      const max = Math.max(...scaled);
      const logZ = max + Math.log(scaled.reduce((s, l) => s + Math.exp(l - max), 0));
      expect(got[0][t]).toBeCloseTo(scaled[row[t + 1]] - logZ, 4);
    }
    model.dispose();
  });

  it('a few AdamW steps lower the loss on a fixed batch, and tensors stay flat', async () => {
    const model = GPT.init(cfg, 5);
    const opt = new AdamW(model.variables(), { weightDecay: 0 });
    const x = ids([
      [1, 2, 3, 4, 5, 6, 7, 8],
      [8, 7, 6, 5, 4, 3, 2, 1],
    ]);
    const y = ids([
      [2, 3, 4, 5, 6, 7, 8, 9],
      [7, 6, 5, 4, 3, 2, 1, 0],
    ]);
    const losses: number[] = [];
    let tensorsAfterFirst = 0;
    for (let i = 0; i < 30; i++) {
      losses.push((await readStep(opt.step(() => ({ loss: lmLoss(model, x, y) }), 1e-2))).loss);
      if (i === 1) tensorsAfterFirst = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(tensorsAfterFirst);
    expect(losses[0]).toBeGreaterThan(Math.log(cfg.vocabSize) - 0.3);
    expect(losses[29]).toBeLessThan(losses[0] * 0.2);
    opt.dispose();
    model.dispose();
  });

  it('a non-finite loss leaves the weights untouched', async () => {
    const model = GPT.init(cfg, 6);
    const opt = new AdamW(model.variables());
    const before = await model.params.get('wte')!.data();
    const result = await readStep(opt.step(() => ({ loss: tf.mul(lmLoss(model, ids([[1, 2]]), ids([[2, 3]])), NaN) as tf.Scalar }), 1e-2));
    expect(Number.isNaN(result.loss)).toBe(true);
    expect(Array.from(await model.params.get('wte')!.data())).toEqual(Array.from(before));
    model.dispose();
  });
});

describe('sampler', () => {
  const opts = { maxNewTokens: 6, temperature: 1, topK: 0, seed: 42, eosId: 0 };

  it('reads the prompts in parts of rows (prefillParts) to the same completions', async () => {
    const model = GPT.init(cfg, 7);
    const prompts = [[3, 4], [5, 6, 7], [8], [9, 2, 4]];
    const whole = await sample(model, prompts, opts);
    const rows: number[] = [];
    const parts = { next: () => 1, record: (n: number) => void rows.push(n) };
    expect(await sample(model, prompts, { ...opts, prefillParts: parts })).toEqual(whole);
    expect(rows).toEqual([1, 1, 1, 1]);
    model.dispose();
  });

  it('is repeatable by seed and differs across seeds', async () => {
    const model = GPT.init(cfg, 7);
    const prompts = [[3, 4], [5, 6, 7], [8]];
    const a = await sample(model, prompts, opts);
    const b = await sample(model, prompts, opts);
    const c = await sample(model, prompts, { ...opts, seed: 43 });
    expect(a).toEqual(b);
    expect(a.completions).not.toEqual(c.completions);
    a.completions.forEach((comp, i) => {
      expect(comp.length).toBeLessThanOrEqual(6);
      if (a.finished[i]) expect(comp[comp.length - 1]).toBe(0);
      else expect(comp.length).toBe(6);
    });
    model.dispose();
  });

  it('cached and full-context sampling draw the same tokens', async () => {
    const model = GPT.init(cfg, 8);
    const prompts = [[3, 4, 5], [6], [9, 9]];
    const cached = await sample(model, prompts, { ...opts, maxNewTokens: 8, eosId: 22 }, true);
    const full = await sample(model, prompts, { ...opts, maxNewTokens: 8, eosId: 22 }, false);
    expect(cached).toEqual(full);
    model.dispose();
  });

  it('greedy top-1 sampling follows argmax, and no tensors leak', async () => {
    const model = GPT.init(cfg, 9);
    const before = tf.memory().numTensors;
    const out = await sample(model, [[1, 2, 3]], { ...opts, temperature: 1, topK: 1, eosId: 22, maxNewTokens: 4 });
    const greedy = await sample(model, [[1, 2, 3]], { ...opts, temperature: 0, eosId: 22, maxNewTokens: 4 });
    expect(out.completions).toEqual(greedy.completions);
    const prompt = ids([[1, 2, 3]]);
    const logits = model.logits(prompt);
    prompt.dispose();
    const argmax = tf.argMax(logits, -1);
    const first = (await argmax.array()) as number[][];
    expect(greedy.completions[0][0]).toBe(first[0][2]);
    tf.dispose([logits, argmax]);
    // at most the causal masks that the model caches per context length (3 and 16) remain
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before + 2);
    model.dispose();
  });
});
