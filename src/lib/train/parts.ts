/**
 * Gradient accumulation over parts of a batch, so that a long training step lets the event loop run between parts
 * (a pause, a stored ranking, a task request get through) instead of holding a worker's thread for seconds on wasm.
 * A mean over the batch is the sum over parts of each part's mean times its share of the batch: the caller scales
 * each part's loss and metrics by that share, so the summed gradient is the whole batch's (up to rounding).
 */
import * as tf from '@tensorflow/tfjs';
import type { AdamW, LossWithMetrics } from './adamw';

/** How a stage may split a step: parts that hold the thread about partMs, and whether to stop between them. */
export interface PartControl {
  partMs?: number;
  shouldStop?(): boolean;
}

/** Sizes the next part so that it holds the thread about `partMs`, from the time the last part took per row. */
export class PartSizer {
  private msPerRow?: number;

  constructor(private readonly partMs: number) {}

  /** Rows for the next part: one before anything was measured (partMs 0: always one). */
  next(remaining: number): number {
    const fit = this.msPerRow === undefined ? 1 : Math.floor(this.partMs / Math.max(this.msPerRow, 1e-3));
    return Math.min(remaining, Math.max(1, fit));
  }

  record(rows: number, ms: number): void {
    this.msPerRow = ms / rows;
  }
}

/** Lets timers and messages run (a resolved promise would not: it is a microtask). */
export const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Runs `work(from, to)` on consecutive row ranges covering [0, rows), sized by `sizer`, yielding between them (not
 * after the last). False when `stop()` said so between parts (the rows after it are not run).
 */
export async function runInParts(
  rows: number,
  sizer: PartSizer,
  work: (from: number, to: number) => void,
  stop?: () => boolean,
): Promise<boolean> {
  for (let from = 0; from < rows;) {
    const to = from + sizer.next(rows - from);
    const started = performance.now();
    work(from, to);
    sizer.record(to - from, performance.now() - started);
    from = to;
    if (from === rows) break;
    await yieldToEventLoop();
    if (stop?.()) return false;
  }
  return true;
}

/**
 * Adds the gradient of `part(from, to)` for consecutive row ranges covering [0, rows) to the optimizer's pending sum,
 * yielding between parts. False when `stop()` said so between parts: the whole pending sum is then discarded, and the
 * caller redoes the step later.
 */
export async function accumulateInParts(
  optimizer: AdamW,
  rows: number,
  sizer: PartSizer,
  part: (from: number, to: number) => LossWithMetrics,
  stop?: () => boolean,
): Promise<boolean> {
  const done = await runInParts(rows, sizer, (from, to) => optimizer.accumulate(() => part(from, to)), stop);
  if (!done) optimizer.discardAccumulated();
  return done;
}

/** A part's loss and metrics times its share of the batch (a number, or a scalar computed on the device). */
export function scaledPart(part: LossWithMetrics, share: tf.Scalar | number): LossWithMetrics {
  return {
    loss: tf.mul(part.loss, share) as tf.Scalar,
    metrics: Object.fromEntries(Object.entries(part.metrics ?? {}).map(([k, v]) => [k, tf.mul(v, share) as tf.Scalar])),
  };
}

/** Rows of one kind for accumulateSegments: their count, their sizer and the loss of rows [from, to). */
export interface Segment {
  rows: number;
  sizer: PartSizer;
  part: (from: number, to: number) => LossWithMetrics;
}

/**
 * accumulateInParts over segments one after another (e.g. rollout rows, then pretraining windows), yielding between
 * them too. False when `stop()` cut it short: the pending sum is then discarded.
 */
export async function accumulateSegments(optimizer: AdamW, segments: Segment[], stop?: () => boolean): Promise<boolean> {
  for (const [i, { rows, sizer, part }] of segments.entries()) {
    if (i > 0) {
      await yieldToEventLoop();
      if (stop?.()) {
        optimizer.discardAccumulated();
        return false;
      }
    }
    if (!(await accumulateInParts(optimizer, rows, sizer, part, stop))) return false;
  }
  return true;
}
