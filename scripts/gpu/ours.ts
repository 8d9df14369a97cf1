/**
 * This project's half of `npm run bench:gpu`, run in its own process: tfjs's WebGPU backend on
 * Dawn, the measurements of src/bench/measure.ts. Prints one JSON line prefixed "RESULT ".
 */
import type { AdapterSummary } from './dawn';
import type { BenchResult } from '../../src/bench/measure';
import type { PresetName } from '../../src/lib/model/config';

export interface OursOptions {
  preset: PresetName;
  batch: number;
  steps: number;
  memorySteps: number;
  genTokens: number; // batch-1 cached generation
  sampleBatch: number; // cached against full context
  sampleTokens: number;
  ppo: boolean;
  ppoBatch: number;
  ppoMiniBatch: number;
  ppoTokens: number;
}

export async function runOurs(o: OursOptions, adapter: AdapterSummary, log: (line: string) => void): Promise<BenchResult> {
  const tf = await import('@tensorflow/tfjs');
  await import('@tensorflow/tfjs-backend-webgpu');
  const { trainBench, sampleBench, ppoIteration } = await import('../../src/bench/measure');
  tf.env().set('PROD', true);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
  await tf.ready();
  if (tf.getBackend() !== 'webgpu') throw new Error(`backend is ${tf.getBackend()}, not webgpu`);
  const result: BenchResult = { backend: 'webgpu', adapter };
  log(`ours: training ${o.preset} batch ${o.batch}…`);
  Object.assign(result, await trainBench({ preset: o.preset, batchSize: o.batch, trainSteps: o.steps, memorySteps: o.memorySteps }, log));
  log('ours: batch-1 cached generation…');
  result.generate_batch1_tokens_per_s = (await sampleBench(o.preset, 1, o.genTokens, false)).cached;
  log(`ours: cached against full context, batch ${o.sampleBatch}…`);
  const s = await sampleBench(o.preset, o.sampleBatch, o.sampleTokens);
  Object.assign(result, {
    sample_batch: o.sampleBatch,
    sample_tokens: o.sampleTokens,
    sample_tokens_per_s_cached: s.cached,
    sample_tokens_per_s_full: s.full,
    cached_over_full: s.cached_over_full,
  });
  if (o.ppo) {
    log('ours: PPO-ptx iteration…');
    Object.assign(result, await ppoIteration(o.preset, { batch: o.ppoBatch, miniBatch: o.ppoMiniBatch, responseLength: o.ppoTokens }));
  }
  return result;
}
