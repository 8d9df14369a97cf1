/** Fixed-shape language-model batches: random windows of the token stream, targets shifted by one. */
import type { Rng } from './rng';

export interface LmBatch {
  x: Int32Array; // [batchSize * blockSize] inputs, row-major
  y: Int32Array; // the same windows one token later: y[i] is the token after x[i]
}

export function sampleLmBatch(tokens: Int32Array, batchSize: number, blockSize: number, rng: Rng): LmBatch {
  for (const [name, value] of [
    ['batchSize', batchSize],
    ['blockSize', blockSize],
  ] as const) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${value}.`);
  }
  if (tokens.length < blockSize + 1) {
    throw new Error(
      `Too few tokens for a batch: a window of ${blockSize} tokens plus its next token needs ${blockSize + 1}, ` +
        `but the data has ${tokens.length}. Use more text or a shorter context.`,
    );
  }
  const x = new Int32Array(batchSize * blockSize);
  const y = new Int32Array(batchSize * blockSize);
  for (let row = 0; row < batchSize; row++) {
    const start = rng.int(tokens.length - blockSize);
    x.set(tokens.subarray(start, start + blockSize), row * blockSize);
    y.set(tokens.subarray(start + 1, start + blockSize + 1), row * blockSize);
  }
  return { x, y };
}
