/**
 * The cpu backend stays covered: the other unit tests run on wasm (setup-tf.ts), and cpu is the app's last
 * fallback, where no faster backend starts. A small GPT's forward pass, loss gradients and one AdamW step on cpu,
 * each against the same on wasm (1e-4).
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { ModelConfig } from '../../src/lib/model/config';
import { GPT } from '../../src/lib/model/gpt';
import { lmLoss } from '../../src/lib/model/logprobs';
import { AdamW, readStep } from '../../src/lib/train/adamw';
import { useCpuBackend, useWasmBackend } from './setup-tf';

const cfg: ModelConfig = { vocabSize: 23, blockSize: 16, nLayer: 2, nHead: 2, nEmbd: 16 };
const rows = [
  [2, 7, 1, 8, 2, 8, 1, 8, 2, 8, 4, 5, 9, 0, 4, 5],
  [1, 4, 1, 4, 2, 1, 3, 5, 6, 2, 3, 7, 3, 0, 9, 5],
];
const TOLERANCE = 1e-4;

interface StepFigures {
  backend: string;
  logits: Float32Array;
  loss: number;
  grads: Float32Array[];
  lossAfter: number;
  weightsAfter: Float32Array[];
}

/** On the current backend: logits, loss and its gradients of a fresh GPT, then one AdamW step and the loss after it. */
async function forwardBackwardStep(): Promise<StepFigures> {
  const model = GPT.init(cfg, 3);
  const ids = (from: number) =>
    tf.tensor2d(
      rows.map((r) => r.slice(from, from + 15)),
      undefined,
      'int32',
    );
  const [x, y] = [ids(0), ids(1)];
  const logits = model.logits(x);
  const { value, grads } = tf.variableGrads(() => lmLoss(model, x, y), model.variables());
  const figures = {
    backend: tf.getBackend(),
    logits: (await logits.data()) as Float32Array,
    loss: (await value.data())[0],
    grads: await Promise.all(model.variables().map(async (v) => (await grads[v.name].data()) as Float32Array)),
  };
  tf.dispose([logits, value, ...Object.values(grads)]);
  const opt = new AdamW(model.variables());
  await readStep(opt.step(() => ({ loss: lmLoss(model, x, y) }), 1e-2));
  const after = lmLoss(model, x, y);
  const result = {
    ...figures,
    lossAfter: (await after.data())[0],
    weightsAfter: await Promise.all(model.variables().map(async (v) => (await v.data()) as Float32Array)),
  };
  tf.dispose([after, x, y]);
  opt.dispose();
  model.dispose();
  return result;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

describe('the cpu backend', () => {
  it('runs a small GPT forward, backward and one AdamW step, as wasm does (1e-4)', async () => {
    await useCpuBackend();
    const cpu = await forwardBackwardStep();
    await useWasmBackend();
    const wasm = await forwardBackwardStep();

    expect(cpu.backend).toBe('cpu');
    expect(wasm.backend).toBe('wasm');
    expect(Number.isFinite(cpu.loss)).toBe(true);
    expect(cpu.lossAfter).toBeLessThan(cpu.loss);
    expect(maxAbsDiff(cpu.logits, wasm.logits)).toBeLessThan(TOLERANCE);
    expect(Math.abs(cpu.loss - wasm.loss)).toBeLessThan(TOLERANCE);
    expect(cpu.grads.length).toBe(wasm.grads.length);
    cpu.grads.forEach((g, i) => expect(maxAbsDiff(g, wasm.grads[i]), `gradient ${i}`).toBeLessThan(TOLERANCE));
    cpu.weightsAfter.forEach((w, i) => expect(maxAbsDiff(w, wasm.weightsAfter[i]), `weight ${i} after the step`).toBeLessThan(TOLERANCE));
    expect(Math.abs(cpu.lossAfter - wasm.lossAfter)).toBeLessThan(TOLERANCE);
  });
});
