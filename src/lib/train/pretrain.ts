/** Pretraining: next-token prediction on random fixed-shape windows of the corpus. */
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt';
import { lmLoss } from '../model/logprobs';
import { sampleLmBatch } from '../data/batches';
import { Rng } from '../data/rng';
import { AdamW, readStep } from './adamw';
import type { Metrics, Stage } from './loop';
import { cosineLr } from './schedule';

/** Keys as in PRETRAIN_SETTINGS (src/lib/settings.ts). */
export interface PretrainSettings {
  steps: number;
  batch_size: number;
  learning_rate: number;
  warmup_steps: number;
  weight_decay: number;
  max_grad_norm: number;
  eval_batches: number;
  seed: number;
}

export const PRETRAIN_DEFAULTS: PretrainSettings = {
  steps: 2000,
  batch_size: 16,
  learning_rate: 3e-3,
  warmup_steps: 50,
  weight_decay: 0.1,
  max_grad_norm: 1,
  eval_batches: 4,
  seed: 1,
};

export interface TokenSplit {
  train: Int32Array;
  val: Int32Array;
}

export class PretrainStage implements Stage {
  readonly name = 'pretrain';
  readonly totalSteps: number;
  stepsDone = 0;
  private readonly model: GPT;
  private readonly data: TokenSplit;
  private readonly settings: PretrainSettings;
  private readonly optimizer: AdamW;
  private readonly rng: Rng;

  constructor(model: GPT, data: TokenSplit, settings: Partial<PretrainSettings> = {}) {
    this.model = model;
    this.data = data;
    this.settings = { ...PRETRAIN_DEFAULTS, ...settings };
    this.totalSteps = this.settings.steps;
    this.rng = new Rng(this.settings.seed);
    const { weight_decay: weightDecay, max_grad_norm: maxGradNorm } = this.settings;
    this.optimizer = new AdamW(model.variables(), { weightDecay, maxGradNorm });
  }

  private batch(tokens: Int32Array, rng: Rng): [tf.Tensor2D, tf.Tensor2D] {
    const batchSize = this.settings.batch_size;
    const { blockSize } = this.model.config;
    const { x, y } = sampleLmBatch(tokens, batchSize, blockSize, rng);
    return [tf.tensor2d(x, [batchSize, blockSize], 'int32'), tf.tensor2d(y, [batchSize, blockSize], 'int32')];
  }

  async step(): Promise<Metrics> {
    const started = performance.now();
    const { steps, learning_rate: peak, warmup_steps: warmupSteps, batch_size: batchSize } = this.settings;
    const lr = cosineLr(this.stepsDone, steps, peak, warmupSteps);
    const [x, y] = this.batch(this.data.train, this.rng);
    const metrics = await readStep(this.optimizer.step(() => ({ loss: lmLoss(this.model, x, y) }), lr));
    tf.dispose([x, y]);
    this.stepsDone += 1;
    const seconds = (performance.now() - started) / 1000;
    return { ...metrics, lr, tokens_per_s: (batchSize * this.model.config.blockSize) / seconds };
  }

  /** Mean loss on the same held-out windows every time, so the numbers are comparable. */
  async evaluate(): Promise<Metrics> {
    return { val_loss: await heldOutLoss(this.model, this.data.val, this.settings.batch_size, this.settings.eval_batches, this.settings.seed) };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

export async function heldOutLoss(model: GPT, tokens: Int32Array, batchSize: number, batches: number, seed: number): Promise<number> {
  const rng = new Rng(seed + 7919);
  const { blockSize } = model.config;
  let total = 0;
  for (let i = 0; i < batches; i++) {
    const { x, y } = sampleLmBatch(tokens, batchSize, blockSize, rng);
    const loss = tf.tidy(() => lmLoss(model, tf.tensor2d(x, [batchSize, blockSize], 'int32'), tf.tensor2d(y, [batchSize, blockSize], 'int32')));
    total += (await loss.data())[0];
    loss.dispose();
  }
  return total / batches;
}
