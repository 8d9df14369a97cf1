/**
 * The whole GPT on webgpu (Dawn; SwiftShader without a GPU): with the fused kernels it gives the
 * logits, loss gradients and cached-decoding logits of the composed ops, to 1e-4.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/lib/model/config';
import { GPT, type KvCache } from '../../src/lib/model/gpt';
import { lmLoss } from '../../src/lib/model/logprobs';
import { sample } from '../../src/lib/model/sampler';
import { sampleTokenFused } from '../../src/lib/model/kernels/decode';
import { setFusedKernels } from '../../src/lib/model/kernels/program';
import { maxAbsDiff, webGpuOrSkipReason } from './setup-webgpu';

const skipReason = await webGpuOrSkipReason('WebGPU model');

const cfg: ModelConfig = { vocabSize: 23, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16 };
const seq = [
  [2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5],
  [1, 4, 1, 4, 2, 1, 3, 5, 6, 2, 3, 7, 3, 0, 9, 5],
];

function lossAndGrads(model: GPT): tf.Tensor[] {
  const x = tf.tensor2d(
    seq.map((r) => r.slice(0, 15)),
    undefined,
    'int32',
  );
  const y = tf.tensor2d(
    seq.map((r) => r.slice(1)),
    undefined,
    'int32',
  );
  const { value, grads } = tf.variableGrads(() => lmLoss(model, x, y), model.variables());
  tf.dispose([x, y]);
  return [value, ...model.variables().map((v) => grads[v.name])];
}

afterEach(() => setFusedKernels(true));

describe.skipIf(skipReason !== null)('GPT on webgpu: fused kernels against composed ops', () => {
  it('runs on the webgpu backend', () => expect(tf.getBackend()).toBe('webgpu'));

  it('same logits, loss and gradient of every parameter (1e-4)', async () => {
    const model = GPT.init(cfg, 3);
    const ids = tf.tensor2d(seq, undefined, 'int32');
    setFusedKernels(false);
    const composed = [model.logits(ids), ...lossAndGrads(model)];
    setFusedKernels(true);
    const fused = [model.logits(ids), ...lossAndGrads(model)];
    expect(fused.length).toBe(2 + model.variables().length);
    for (let i = 0; i < fused.length; i++) expect(await maxAbsDiff(fused[i], composed[i]), `output ${i}`).toBeLessThan(1e-4);
    tf.dispose([...fused, ...composed, ids]);
    model.dispose();
  });

  it('cached decoding gives the logits of a full forward pass (1e-4)', async () => {
    const model = GPT.init(cfg, 4);
    const ids = tf.tensor2d(seq, undefined, 'int32');
    const full = model.logits(ids);
    const start = 5;
    const kv: KvCache = { keys: [], values: [] };
    const padded = tf.concat([tf.slice(ids, [0, 0], [2, start]), tf.zeros([2, cfg.blockSize - start], 'int32')], 1) as tf.Tensor2D;
    tf.dispose(model.hidden(padded, kv));
    let cache = kv;
    for (let t = start; t < 9; t++) {
      const step = model.decodeStep(tf.reshape(tf.slice(ids, [0, t], [2, 1]), [2]) as tf.Tensor1D, t, cache);
      const expected = tf.reshape(tf.slice(full, [0, t, 0], [2, 1, cfg.vocabSize]), [2, cfg.vocabSize]);
      expect(await maxAbsDiff(step.logits, expected), `position ${t}`).toBeLessThan(1e-4);
      cache = step.cache;
    }
    tf.dispose([full, ids, padded]);
    model.dispose();
  });

  it('cached and full-context sampling draw the same tokens, repeatable by seed, and no tensors leak', async () => {
    const model = GPT.init(cfg, 5);
    const prompts = [[1, 2, 3], [4, 5], [6]];
    const opts = { maxNewTokens: 6, temperature: 1, topK: 0, seed: 11, eosId: 22 };
    const full = await sample(model, prompts, opts, false); // first: the model keeps its causal mask from here on
    const before = tf.memory().numTensors;
    const cached = await sample(model, prompts, opts, true);
    expect(cached).toEqual(full);
    expect(await sample(model, prompts, opts, true)).toEqual(cached);
    const other = await sample(model, prompts, { ...opts, seed: 12 }, true);
    expect(other.completions).not.toEqual(cached.completions);
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});

describe.skipIf(skipReason !== null)('token sampling kernel', () => {
  const vocab = 4;
  const rows = 4000;
  const row = [0, 1, 2, -1];

  function draw(temperature: number, seed: number, forced = false): Promise<Int32Array> {
    const logits = tf.tensor2d(
      Array.from({ length: rows }, () => row),
      [rows, vocab],
    );
    const ids = tf.fill([rows, 2], 3, 'int32') as tf.Tensor2D;
    const mask = tf.fill([rows, 2], forced ? 1 : 0, 'int32') as tf.Tensor2D;
    const tokens = sampleTokenFused(logits, ids, mask, 1, seed, temperature);
    tf.dispose([logits, ids, mask]);
    return tokens.data().then((d) => (tokens.dispose(), d as Int32Array));
  }

  it('temperature 0 is argmax; a row inside its prompt gets the prompt token', async () => {
    expect([...(await draw(0, 1))].every((t) => t === 2)).toBe(true);
    expect([...(await draw(1, 1, true))].every((t) => t === 3)).toBe(true);
  });

  it('draws from softmax(logits / T): frequencies within 0.03 at T = 1 and T = 0.5', async () => {
    for (const temperature of [1, 0.5]) {
      const tokens = await draw(temperature, 42);
      const z = row.reduce((s, l) => s + Math.exp(l / temperature), 0);
      for (let v = 0; v < vocab; v++) {
        const freq = tokens.filter((t) => t === v).length / rows;
        expect(Math.abs(freq - Math.exp(row[v] / temperature) / z), `token ${v} at T=${temperature}`).toBeLessThan(0.03);
      }
    }
  });
});

if (skipReason) {
  describe('GPT on webgpu', () => {
    it.skip(`SKIPPED, no WebGPU here: ${skipReason}`, () => {});
  });
}
