/**
 * The benchmark's measurements, one source for the browser bench (workers/bench.worker.ts) and the
 * Node + Dawn bench (scripts/bench-gpu.ts): training and sampling tokens per second, cached
 * against full-context sampling, kernels and uploads per training step, memory after a few
 * steps against after many, and one PPO-ptx iteration split into sample / score / update.
 * The backend must already be chosen.
 */
import * as tf from '@tensorflow/tfjs';
import { configFromPreset, countParams, type ModelConfig, type PresetName } from '../lib/model/config';
import { GPT } from '../lib/model/gpt';
import { lmLoss } from '../lib/model/logprobs';
import { sample } from '../lib/model/sampler';
import { Rng } from '../lib/data/rng';
import { AdamW, readStep } from '../lib/train/adamw';
import { BpeTokenizer } from '../lib/data/bpeTokenizer';
import { generateCorpus, generatePrompts } from '../lib/data/world';
import { encodeDocuments } from '../lib/data/corpus';
import { PpoStage } from '../lib/rlhf/ppo';
import { RewardModel } from '../lib/rlhf/rewardModel';
import { countGpuWork } from './gpuCounters';

export type BenchResult = Record<string, unknown>;

export const VOCAB = 512;

export interface TrainBenchOptions {
  preset: PresetName;
  batchSize: number;
  trainSteps: number;
  memorySteps: number;
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

/** Seconds for `steps` training steps, each read back (as the app's training loop does). */
export async function trainSteps(model: GPT, opt: AdamW, rng: Rng, batch: number, steps: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < steps; i++) {
    const x = randomIds(rng, batch, model.config.blockSize);
    const y = randomIds(rng, batch, model.config.blockSize);
    await readStep(opt.step(() => ({ loss: lmLoss(model, x, y) }), 1e-3));
    tf.dispose([x, y]);
  }
  return (performance.now() - started) / 1000;
}

/** Generated tokens per second for `batch` rows of two-token prompts, after a short warm-up run. */
export async function samplingRate(model: GPT, rng: Rng, batch: number, tokens: number, cached: boolean): Promise<number> {
  const prompts = Array.from({ length: batch }, () => [rng.int(VOCAB - 1), rng.int(VOCAB - 1)]);
  const opts = { maxNewTokens: tokens, temperature: 1, topK: 0, seed: 1, eosId: VOCAB - 1 };
  await sample(model, prompts, { ...opts, maxNewTokens: 2 }, cached); // compile the shaders first
  const started = performance.now();
  const { completions } = await sample(model, prompts, opts, cached);
  const generated = completions.reduce((n, c) => n + c.length, 0);
  return generated / ((performance.now() - started) / 1000);
}

/** Dispatches, uploads and read-backs of one training step, and its profiled kernel time where the backend has timers. */
export async function profileTrainStep(model: GPT, opt: AdamW, rng: Rng, batch: number): Promise<BenchResult> {
  const x = randomIds(rng, batch, model.config.blockSize);
  const y = randomIds(rng, batch, model.config.blockSize);
  const work = await countGpuWork(() => readStep(opt.step(() => ({ loss: lmLoss(model, x, y) }), 1e-3)));
  const profile = await tf.profile(async () => {
    await readStep(opt.step(() => ({ loss: lmLoss(model, x, y) }), 1e-3));
  });
  tf.dispose([x, y]);
  const kernelMs = profile.kernels.reduce((ms, k) => ms + (Number(k.kernelTimeMs) || 0), 0);
  return {
    kernels_per_train_step: work?.dispatches ?? profile.kernels.length,
    uploads_per_train_step: work?.uploads,
    readbacks_per_train_step: work?.readbacks,
    kernel_ms_per_train_step: kernelMs > 0 ? kernelMs : undefined,
  };
}

/** FLOPs of one training step: 6 per parameter per token (forward and backward), plus attention's scores and mixing. */
export function trainStepFlops(config: ModelConfig, tokens: number): number {
  const attentionPerToken = 12 * config.nLayer * config.blockSize * config.nEmbd;
  return tokens * (6 * countParams(config) + attentionPerToken);
}

/** GFLOP/s of a large square matMul: what this backend's kernels reach at best, to set the training rate against. */
export async function matMulGflops(size = 512, repeats = 8): Promise<number> {
  const a = tf.randomNormal([size, size]);
  const b = tf.randomNormal([size, size]);
  const once = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  await once();
  const started = performance.now();
  for (let i = 0; i < repeats; i++) await once();
  const seconds = (performance.now() - started) / 1000;
  tf.dispose([a, b]);
  return (2 * size ** 3 * repeats) / seconds / 1e9;
}

/** Training throughput, kernels and memory for one preset and batch. */
export async function trainBench(o: TrainBenchOptions, progress: (line: string) => void = () => {}): Promise<BenchResult> {
  const config: ModelConfig = configFromPreset(o.preset, VOCAB);
  const rng = new Rng(1);
  const model = GPT.init(config, 1);
  const opt = new AdamW(model.variables());
  const tokensPerStep = o.batchSize * config.blockSize;
  progress('warm-up (shader compiles)…');
  await trainSteps(model, opt, rng, o.batchSize, 2);
  progress('training…');
  const trainSeconds = await trainSteps(model, opt, rng, o.batchSize, o.trainSteps);
  await trainSteps(model, opt, rng, o.batchSize, Math.max(0, 10 - 2 - o.trainSteps));
  const bytesAfter10 = memoryBytes();
  const tensorsAfter10 = tf.memory().numTensors;
  progress('memory run…');
  await trainSteps(model, opt, rng, o.batchSize, Math.max(0, o.memorySteps - Math.max(10, 2 + o.trainSteps)));
  const bytesAfterN = memoryBytes();
  const counts = await profileTrainStep(model, opt, rng, o.batchSize);
  const stepMs = (1000 * trainSeconds) / o.trainSteps;
  const result: BenchResult = {
    preset: o.preset,
    params: countParams(config),
    batch: o.batchSize,
    context: config.blockSize,
    train_tokens_per_s: (tokensPerStep * o.trainSteps) / trainSeconds,
    train_step_ms: stepMs,
    train_gflops_per_s: trainStepFlops(config, tokensPerStep) / (stepMs / 1000) / 1e9,
    ...counts,
    gpu_busy: typeof counts.kernel_ms_per_train_step === 'number' ? counts.kernel_ms_per_train_step / stepMs : undefined,
    memory_steps: Math.max(o.memorySteps, 10),
    memory_bytes_after_10_steps: bytesAfter10,
    memory_bytes_after_n_steps: bytesAfterN,
    memory_n_over_10: bytesAfterN / bytesAfter10,
    tensors_after_10_steps: tensorsAfter10,
    tensors_after_n_steps: tf.memory().numTensors,
  };
  opt.dispose();
  model.dispose();
  return result;
}

/** Cached and full-context sampling rates at one batch size (and their ratio). */
export async function sampleBench(preset: PresetName, batch: number, tokens: number, full = true): Promise<BenchResult> {
  const model = GPT.init(configFromPreset(preset, VOCAB), 1);
  const rng = new Rng(2);
  const cached = await samplingRate(model, rng, batch, tokens, true);
  const fullRate = full ? await samplingRate(model, rng, batch, tokens, false) : undefined;
  model.dispose();
  return { cached, full: fullRate, cached_over_full: fullRate ? cached / fullRate : undefined };
}

/** The PPO-ptx shape of one iteration; null: the stage's own defaults. */
export type PpoShape = { batch: number; miniBatch: number; responseLength: number } | null;

/** One PPO-ptx iteration (after a warm-up iteration that compiles the shaders), split into its phases. */
export async function ppoIteration(preset: PresetName, shape: PpoShape): Promise<BenchResult> {
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
    settings: shape
      ? {
          iterations: 2,
          batch_size: shape.batch,
          mini_batch_size: shape.miniBatch,
          num_ppo_epochs: 4,
          response_length: shape.responseLength,
        }
      : { iterations: 2 },
  });
  await ppo.step();
  const m = await ppo.step();
  ppo.dispose();
  ppo.valueModel.dispose();
  ppo.reference.dispose();
  rewardModel.dispose();
  policy.dispose();
  return {
    ppo_batch: ppo.settings.batch_size,
    ppo_mini_batch: ppo.settings.mini_batch_size,
    ppo_response_length: ppo.settings.response_length,
    ppo_sample_s: m['time/sample_s'],
    ppo_score_s: m['time/score_s'],
    ppo_update_s: m['time/update_s'],
    ppo_iteration_s: m['time/sample_s'] + m['time/score_s'] + m['time/update_s'],
  };
}
