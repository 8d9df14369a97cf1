/**
 * Benchmark worker for the browser bench (`npm run bench`): picks the asked-for backend and runs
 * the measurements of src/bench/measure.ts (the same ones `npm run bench:gpu` runs in Node).
 */
import * as Comlink from 'comlink';
import type { BackendName } from '../src/lib/types';
import { pickBackend } from './backend';
import type { PresetName } from '../src/lib/model/config';
import { PRESETS } from '../src/lib/model/config';
import { matMulGflops, ppoIteration, sampleBench, trainBench, type BenchResult } from '../src/bench/measure';

export interface BenchOptions {
  backend: BackendName;
  preset: PresetName;
  batchSize: number;
  trainSteps: number;
  memorySteps: number;
  sampleTokens: number;
  ppo: boolean;
  /** PPO-ptx at the stage's defaults, not the bench's batch and token count */
  ppoDefaults: boolean;
  /** tfjs-wasm on threads where the page allows it; false: one thread */
  threads: boolean;
  /** a threaded wasm start slower than this counts as failed (a test sets 1 to see the fallback) */
  threadedStartMs?: number;
}

export type { BenchResult };

export interface BenchApi {
  run(options: BenchOptions, progress: (line: string) => void): Promise<BenchResult>;
}

const api: BenchApi = {
  async run(o, progress) {
    const backend = await pickBackend(o.backend, { threads: o.threads, threadedStartMs: o.threadedStartMs });
    if (backend.name !== o.backend) throw new Error(`${o.backend} is not available here (${backend.fallbackReasons.join('; ')})`);
    const train = await trainBench(o, progress);
    progress('sampling…');
    const sampling = await sampleBench(o.preset, o.batchSize, o.sampleTokens);
    const result: BenchResult = {
      backend: backend.name,
      adapter: backend.adapter,
      threads: backend.threads,
      fallback_reasons: backend.fallbackReasons,
      cross_origin_isolated: globalThis.crossOriginIsolated,
      ...train,
      matmul_gflops_per_s: await matMulGflops(),
      sample_tokens_per_s_cached: sampling.cached,
      sample_tokens_per_s_full: sampling.full,
      cached_over_full: sampling.cached_over_full,
    };
    if (o.ppo) {
      progress('PPO-ptx iteration…');
      Object.assign(
        result,
        await ppoIteration(
          o.preset,
          o.ppoDefaults
            ? null
            : { batch: o.batchSize, miniBatch: o.batchSize, responseLength: Math.min(o.sampleTokens, PRESETS[o.preset].blockSize / 2) },
        ),
      );
    }
    return result;
  },
};

Comlink.expose(api);
