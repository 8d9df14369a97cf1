/**
 * Benchmark worker: on one backend, for a fixed preset and batch, measures training and sampling
 * tokens per second (cached against full-context sampling), and GPU memory after a few steps
 * against after many, and one PPO-ptx iteration split into sample / score / update.
 */
import * as tf from '@tensorflow/tfjs';
import * as Comlink from 'comlink';
import type { BackendName } from '../src/lib/types';
import { pickBackend } from './backend';
import { configFromPreset, countParams, type PresetName } from '../src/lib/model/config';
import { GPT } from '../src/lib/model/gpt';
import { lmLoss } from '../src/lib/model/logprobs';
import { sample } from '../src/lib/model/sampler';
import { Rng } from '../src/lib/data/rng';
import { AdamW, readStep } from '../src/lib/train/adamw';
import { BpeTokenizer } from '../src/lib/data/bpeTokenizer';
import { generateCorpus, generatePrompts } from '../src/lib/data/world';
import { encodeDocuments } from '../src/lib/data/corpus';
import { PpoStage } from '../src/lib/rlhf/ppo';
import { RewardModel } from '../src/lib/rlhf/rewardModel';

export interface BenchOptions {
  backend: BackendName;
  preset: PresetName;
  batchSize: number;
  trainSteps: number;
  memorySteps: number;
  sampleTokens: number;
  ppo: boolean;
}

export type BenchResult = Record<string, unknown>;

export interface BenchApi {
  run(options: BenchOptions, progress: (line: string) => void): Promise<BenchResult>;
}

const VOCAB = 512;

/** One PPO-ptx iteration (after a warm-up iteration that compiles the shaders), split into its phases. */
async function ppoIteration(preset: PresetName, batch: number, responseLength: number): Promise<BenchResult> {
  const documents = generateCorpus({ seed: 1, documents: 400 }).map((d) => d.text);
  const tokenizer = BpeTokenizer.train(documents.join('\n'), VOCAB);
  const policy = GPT.init(configFromPreset(preset, tokenizer.vocabSize), 2);
  const rewardModel = RewardModel.fromPolicy(policy, 3);
  const ppo = new PpoStage({
    policy,
    tokenizer,
    rewardModel,
    prompts: generatePrompts(1, 64),
    pretrainTokens: encodeDocuments(tokenizer, documents),
    settings: { iterations: 2, batch_size: batch, mini_batch_size: batch, num_ppo_epochs: 4, response_length: responseLength },
  });
  await ppo.step();
  const m = await ppo.step();
  ppo.dispose();
  ppo.valueModel.dispose();
  ppo.reference.dispose();
  rewardModel.dispose();
  policy.dispose();
  return {
    ppo_batch: batch,
    ppo_response_length: responseLength,
    ppo_sample_s: m['time/sample_s'],
    ppo_score_s: m['time/score_s'],
    ppo_update_s: m['time/update_s'],
    ppo_iteration_s: m['time/sample_s'] + m['time/score_s'] + m['time/update_s'],
  };
}

function memoryBytes(): number {
  const m = tf.memory() as tf.MemoryInfo & { numBytesInGPU?: number; numBytesInGPUAllocated?: number };
  return m.numBytesInGPUAllocated ?? m.numBytesInGPU ?? m.numBytes;
}

function randomIds(rng: Rng, rows: number, cols: number): tf.Tensor2D {
  return tf.tensor2d(
    Int32Array.from({ length: rows * cols }, () => rng.int(VOCAB - 1)),
    [rows, cols],
    'int32',
  );
}

async function trainSteps(model: GPT, opt: AdamW, rng: Rng, batch: number, steps: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < steps; i++) {
    const x = randomIds(rng, batch, model.config.blockSize);
    const y = randomIds(rng, batch, model.config.blockSize);
    await readStep(opt.step(() => ({ loss: lmLoss(model, x, y) }), 1e-3));
    tf.dispose([x, y]);
  }
  return (performance.now() - started) / 1000;
}

async function samplingRate(model: GPT, rng: Rng, batch: number, tokens: number, cached: boolean): Promise<number> {
  const prompts = Array.from({ length: batch }, () => [rng.int(VOCAB - 1), rng.int(VOCAB - 1)]);
  const opts = { maxNewTokens: tokens, temperature: 1, topK: 0, seed: 1, eosId: VOCAB - 1 };
  await sample(model, prompts, { ...opts, maxNewTokens: 2 }, cached); // compile the shaders first
  const started = performance.now();
  const { completions } = await sample(model, prompts, opts, cached);
  const generated = completions.reduce((n, c) => n + c.length, 0);
  return generated / ((performance.now() - started) / 1000);
}

const api: BenchApi = {
  async run(o, progress) {
    const backend = await pickBackend(o.backend);
    if (backend.name !== o.backend) throw new Error(`${o.backend} is not available here (${backend.fallbackReasons.join('; ')})`);
    const config = configFromPreset(o.preset, VOCAB);
    const rng = new Rng(1);
    const model = GPT.init(config, 1);
    const opt = new AdamW(model.variables());
    const tokensPerStep = o.batchSize * config.blockSize;
    progress('warm-up (shader compiles)…');
    await trainSteps(model, opt, rng, o.batchSize, 2);
    progress('training…');
    const trainSeconds = await trainSteps(model, opt, rng, o.batchSize, o.trainSteps);
    const bytesAfter10 = (await trainSteps(model, opt, rng, o.batchSize, Math.max(0, 10 - 2 - o.trainSteps)), memoryBytes());
    progress('memory run…');
    await trainSteps(model, opt, rng, o.batchSize, Math.max(0, o.memorySteps - Math.max(10, 2 + o.trainSteps)));
    const bytesAfter50 = memoryBytes();
    const profile = await tf.profile(async () => {
      const x = randomIds(rng, o.batchSize, config.blockSize);
      await readStep(opt.step(() => ({ loss: lmLoss(model, x, x) }), 1e-3));
      x.dispose();
    });
    progress('sampling…');
    const cachedRate = await samplingRate(model, rng, o.batchSize, o.sampleTokens, true);
    const fullRate = await samplingRate(model, rng, o.batchSize, o.sampleTokens, false);
    const result: BenchResult = {
      backend: backend.name,
      adapter: backend.adapter,
      preset: o.preset,
      params: countParams(config),
      batch: o.batchSize,
      context: config.blockSize,
      train_tokens_per_s: (tokensPerStep * o.trainSteps) / trainSeconds,
      train_step_ms: (1000 * trainSeconds) / o.trainSteps,
      sample_tokens_per_s_cached: cachedRate,
      sample_tokens_per_s_full: fullRate,
      cached_over_full: cachedRate / fullRate,
      memory_bytes_after_10_steps: bytesAfter10,
      memory_bytes_after_50_steps: bytesAfter50,
      memory_50_over_10: bytesAfter50 / bytesAfter10,
      num_tensors: tf.memory().numTensors,
      kernels_per_train_step: profile.kernels.length,
    };
    opt.dispose();
    model.dispose();
    if (o.ppo) {
      progress('PPO-ptx iteration…');
      Object.assign(result, await ppoIteration(o.preset, o.batchSize, Math.min(o.sampleTokens, config.blockSize / 2)));
    }
    return result;
  },
};

Comlink.expose(api);
