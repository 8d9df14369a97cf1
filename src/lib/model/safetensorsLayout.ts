/**
 * The tensor table of a safetensors file, checked whole before any tensor is read: every entry an object with
 * dtype F32, a shape of whole numbers and data_offsets of two whole numbers; the byte ranges contiguous from 0
 * to the end of the data, in order of their offsets, none overlapping (the rule of the reference reader); each
 * range as long as its dtype times its shape; and the values finite and within a sane magnitude. Every fault
 * throws CheckpointError with its cause in words.
 */
export class CheckpointError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(`Cannot load this checkpoint: ${message}`, options);
    this.name = 'CheckpointError';
  }
}

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

/** No weight of a trained model comes near this (the shipped checkpoints stay below 3); beyond it the file is damaged. */
export const MAX_ABS_WEIGHT = 1e4;

const BYTES_PER_F32 = 4;

export interface TensorEntry {
  name: string;
  shape: number[];
  begin: number;
  end: number;
}

const isWholeNumber = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

const shown = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** The entries of a parsed header (all but __metadata__), each checked alone. */
export function tensorEntries(header: Record<string, unknown>): TensorEntry[] {
  return Object.entries(header)
    .filter(([name]) => name !== '__metadata__')
    .map(([name, entry]) => tensorEntry(name, entry));
}

function tensorEntry(name: string, entry: unknown): TensorEntry {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
    throw new CheckpointError(`the header entry for tensor ${name} is ${shown(entry)}, not a description of a tensor.`);
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (dtype !== 'F32') throw new CheckpointError(`tensor ${name} has dtype ${shown(dtype)}; only F32 is supported.`);
  if (!Array.isArray(shape) || !shape.every(isWholeNumber))
    throw new CheckpointError(`tensor ${name} has shape ${shown(shape)}; a shape is a list of whole numbers.`);
  if (offsets === undefined) throw new CheckpointError(`tensor ${name} has no data_offsets: where its bytes lie is not given.`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isWholeNumber))
    throw new CheckpointError(`tensor ${name} has data_offsets ${shown(offsets)}; they must be two whole numbers [begin, end].`);
  const [begin, end] = offsets as [number, number];
  const needed = shape.reduce((a: number, b: number) => a * b, 1) * BYTES_PER_F32;
  if (end - begin !== needed)
    throw new CheckpointError(`tensor ${name} spans ${end - begin} bytes but its shape [${shape}] of F32 needs ${needed}.`);
  return { name, shape, begin, end };
}

/** The entries' byte ranges, in order of their offsets, cover the data section exactly: no gap, no overlap, nothing outside. */
export function checkContiguous(entries: readonly TensorEntry[], dataLength: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous: TensorEntry | null = null;
  for (const e of sorted) {
    if (e.begin < at)
      throw new CheckpointError(`tensors ${previous!.name} and ${e.name} overlap: bytes ${e.begin} to ${at} belong to both.`);
    if (e.begin > at) {
      const after = previous ? `after tensor ${previous.name}` : 'at the start of the data';
      throw new CheckpointError(`${e.begin - at} bytes ${after} belong to no tensor (tensor ${e.name} begins at ${e.begin}, not ${at}).`);
    }
    at = e.end;
    previous = e;
  }
  if (at > dataLength)
    throw new CheckpointError(`tensor ${previous!.name} ends at byte ${at}, beyond the ${dataLength} bytes of data in the file.`);
  if (at < dataLength) throw new CheckpointError(`the last ${dataLength - at} bytes of data belong to no tensor.`);
}

/** A tensor's values, copied out of the data section (its offset need not be 4-byte aligned), all finite and sane. */
export function readValues(entry: TensorEntry, data: Uint8Array): NamedArray {
  const values = new Float32Array((entry.end - entry.begin) / BYTES_PER_F32);
  new Uint8Array(values.buffer).set(data.subarray(entry.begin, entry.end));
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (Number.isNaN(v)) throw new CheckpointError(`tensor ${entry.name} holds a value that is not a number (NaN) at index ${i}.`);
    if (!Number.isFinite(v)) throw new CheckpointError(`tensor ${entry.name} holds an infinite value at index ${i}.`);
    if (Math.abs(v) > MAX_ABS_WEIGHT)
      throw new CheckpointError(
        `tensor ${entry.name} holds ${v.toExponential(2)} at index ${i}, beyond the ±${MAX_ABS_WEIGHT} that a trained model stays within: the weights are damaged.`,
      );
  }
  return { shape: entry.shape, data: values };
}
