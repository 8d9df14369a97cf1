/**
 * Gradient accumulation over parts of a batch, so that a long training step lets the event loop run between parts
 * (a pause, a stored ranking, a task request get through) instead of holding a worker's thread for seconds on wasm.
 * A mean over the batch is the sum over parts of each part's mean times its share of the batch: the caller scales
 * each part's loss and metrics by that share, so the summed gradient is the whole batch's (up to rounding).
 */
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
