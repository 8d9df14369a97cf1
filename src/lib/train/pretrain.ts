/**
 * Pretraining: next-token prediction on random fixed-shape windows of the corpus. With a PartControl (the app), a step
 * runs in parts of rows (gradient accumulation, train/parts.ts), so it never holds a worker's thread for long.
 */
import * as tf from '@tensorflow/tfjs';
import type { GPT } from '../model/gpt';
import { lmLoss } from '../model/logprobs';
import { sampleLmBatch } from '../data/batches';
import { Rng } from '../data/rng';
import { AdamW, readStep } from './adamw';
import type { Metrics, Stage } from './loop';
import { accumulateInParts, PartSizer, yieldToEventLoop, type PartControl } from './parts';
import { cosineLr } from './schedule';
import { defaultsOf, float, hidden, int, SEED, type SettingsOf } from '../settings';

/** Pretraining's settings: defaults, ranges and explanations, the one source for the form and the code. */
export const PRETRAIN_SETTINGS = [
  int('steps', 'Steps', 2000, 1, 1_000_000, 'Optimisation steps to run.'),
  int('batch_size', 'Batch size', 16, 1, 256, 'Sequences per step, each one context long.'),
  // the highest that trains well (scripts/lr-ceiling.ts, tiny from fresh weights, 200 steps): loss 6.25 -> 1.23 at 0.03,
  // 4.0 at 0.1 (3e-3: 2.2)
  float('learning_rate', 'Learning rate', 3e-3, 1e-6, 0.03, 'Peak AdamW learning rate; warm-up, then cosine decay to a tenth of it.'),
  int('warmup_steps', 'Warm-up steps', 50, 0, 100_000, 'Steps of linear learning-rate warm-up.'),
  float('weight_decay', 'Weight decay', 0.1, 0, 1, 'Decoupled AdamW weight decay on the weight matrices.'),
  float('max_grad_norm', 'Gradient clip', 1, 0, 100, 'Clip the global gradient norm to this (0 = off).'),
  int('eval_every', 'Evaluate every', 50, 1, 100_000, 'Steps between validation-loss measurements.'),
  int('sample_every', 'Sample every', 100, 1, 100_000, 'Steps between fresh samples.'),
  hidden(int('eval_batches', 'Validation batches', 4, 1, 1000, 'Batches averaged for one validation loss.')),
  SEED,
] as const;

export type PretrainSettings = SettingsOf<typeof PRETRAIN_SETTINGS>;
export const PRETRAIN_DEFAULTS: PretrainSettings = defaultsOf(PRETRAIN_SETTINGS);

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
  private readonly control?: PartControl;
  private readonly partSizer?: PartSizer;
  /** The windows of a step that a pause cut short: the step is redone on them. */
  private windows: { x: Int32Array; y: Int32Array } | null = null;

  constructor(model: GPT, data: TokenSplit, settings: Partial<PretrainSettings> = {}, control?: PartControl) {
    this.model = model;
    this.control = control;
    if (control?.partMs !== undefined) this.partSizer = new PartSizer(control.partMs);
    this.data = data;
    this.settings = { ...PRETRAIN_DEFAULTS, ...settings };
    this.totalSteps = this.settings.steps;
    this.rng = new Rng(this.settings.seed);
    const { weight_decay: weightDecay, max_grad_norm: maxGradNorm } = this.settings;
    this.optimizer = new AdamW(model.variables(), { weightDecay, maxGradNorm });
  }

  /** One step; with a PartControl, in parts of rows, and {} (no step made) when a pause stopped it between parts. */
  async step(): Promise<Metrics> {
    const started = performance.now();
    const { steps, learning_rate: peak, warmup_steps: warmupSteps, batch_size: batchSize } = this.settings;
    const { blockSize } = this.model.config;
    const lr = cosineLr(this.stepsDone, steps, peak, warmupSteps);
    const windows = (this.windows ??= sampleLmBatch(this.data.train, batchSize, blockSize, this.rng));
    const x = tf.tensor2d(windows.x, [batchSize, blockSize], 'int32');
    const y = tf.tensor2d(windows.y, [batchSize, blockSize], 'int32');
    try {
      if (!this.partSizer) this.optimizer.accumulate(() => ({ loss: lmLoss(this.model, x, y) }));
      else if (!(await this.accumulateInParts(x, y, this.partSizer))) return {};
    } finally {
      tf.dispose([x, y]);
    }
    const metrics = await readStep(this.optimizer.applyAccumulated(lr));
    this.windows = null;
    this.stepsDone += 1;
    const seconds = (performance.now() - started) / 1000;
    return { ...metrics, lr, tokens_per_s: (batchSize * blockSize) / seconds };
  }

  /** The step's gradient over parts of rows: every window has blockSize tokens, so a part's mean counts by its rows. */
  private accumulateInParts(x: tf.Tensor2D, y: tf.Tensor2D, sizer: PartSizer): Promise<boolean> {
    const rows = x.shape[0];
    const part = (from: number, to: number) => {
      const slice = (t: tf.Tensor2D) => tf.slice(t, [from, 0], [to - from, -1]);
      return { loss: tf.mul(lmLoss(this.model, slice(x), slice(y)), (to - from) / rows) as tf.Scalar };
    };
    return accumulateInParts(this.optimizer, rows, sizer, part, () => this.control?.shouldStop?.() ?? false);
  }

  /** Mean loss on the same held-out windows every time, so the numbers are comparable. */
  async evaluate(): Promise<Metrics> {
    const { batch_size: batchSize, eval_batches: batches, seed } = this.settings;
    return { val_loss: await heldOutLoss(this.model, this.data.val, batchSize, batches, seed) };
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}

/** Mean loss over `batches` seeded batches, with the event loop let in between (each is a forward pass: seconds on wasm). */
export async function heldOutLoss(model: GPT, tokens: Int32Array, batchSize: number, batches: number, seed: number): Promise<number> {
  const rng = new Rng(seed + 7919);
  const { blockSize } = model.config;
  let total = 0;
  for (let i = 0; i < batches; i++) {
    const { x, y } = sampleLmBatch(tokens, batchSize, blockSize, rng);
    const loss = tf.tidy(() =>
      lmLoss(model, tf.tensor2d(x, [batchSize, blockSize], 'int32'), tf.tensor2d(y, [batchSize, blockSize], 'int32')),
    );
    total += (await loss.data())[0];
    loss.dispose();
    if (i + 1 < batches) await yieldToEventLoop();
  }
  return total / batches;
}
