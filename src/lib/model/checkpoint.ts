/**
 * Checkpoints in the safetensors format (https://github.com/huggingface/safetensors):
 *   8 bytes   little-endian u64 N, the header length
 *   N bytes   JSON header: { "__metadata__": {string: string}, name: {dtype: "F32", shape, data_offsets: [begin, end]}, ... }
 *   the rest  the tensors' bytes, little-endian float32, at the offsets given (relative to the end of the header)
 * Our metadata: format "rlhf-playground/1", kind ("policy" | "reward"), config (the ModelConfig as JSON),
 * tokenizer (TokenizerJSON as JSON), crc32 (of the data section, hex), createdAt, and an optional note.
 * Any safetensors reader opens these files. Before anything is replaced, decodeCheckpoint checks the file whole (the
 * tensor table and values: safetensorsLayout.ts) and probedModelFromCheckpoint runs a forward pass on a probe prompt.
 */
import * as tf from '@tensorflow/tfjs';
import { configError, parameterShapes, type ModelConfig } from './config';
import { crc32 } from './crc32';
import { GPT } from './gpt';
import type { Tokenizer } from '../data/tokenizer';
import { tokenizerFromJSON } from '../data/tokenizerJson';
import { checkContiguous, CheckpointError, readValues, tensorEntries, type NamedArray, type TensorEntry } from './safetensorsLayout';

export { CheckpointError, MAX_ABS_WEIGHT, type NamedArray } from './safetensorsLayout';

export const CHECKPOINT_FORMAT = 'rlhf-playground/1';

export type CheckpointKind = 'policy' | 'reward';

export interface Checkpoint {
  kind: CheckpointKind;
  config: ModelConfig;
  tokenizer: Tokenizer;
  tensors: Map<string, NamedArray>;
  createdAt: string;
  note: string;
}

/** A reward model's head beside its trunk's tensors: r = w · h + b. */
export const REWARD_HEAD_NAMES = { w: 'reward.w', b: 'reward.b' } as const;

/** Every tensor a checkpoint of this kind and config holds, with its shape: nothing missing, nothing else. */
export function checkpointShapes(kind: CheckpointKind, config: ModelConfig): [string, number[]][] {
  const shapes = parameterShapes(config);
  if (kind === 'reward') shapes.push([REWARD_HEAD_NAMES.w, [config.nEmbd]], [REWARD_HEAD_NAMES.b, []]);
  return shapes;
}

export function encodeCheckpoint(ckpt: Checkpoint): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, { shape, data }] of ckpt.tensors) {
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + data.byteLength] };
    offset += data.byteLength;
  }
  const body = new Uint8Array(offset);
  offset = 0;
  for (const { data } of ckpt.tensors.values()) {
    body.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), offset);
    offset += data.byteLength;
  }
  header.__metadata__ = {
    format: CHECKPOINT_FORMAT,
    kind: ckpt.kind,
    config: JSON.stringify(ckpt.config),
    tokenizer: JSON.stringify(ckpt.tokenizer.toJSON()),
    crc32: crc32(body).toString(16),
    createdAt: ckpt.createdAt,
    note: ckpt.note,
  };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8); // keep the data 8-byte aligned, as the format recommends
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  out.set(body, 8 + headerBytes.length);
  return out;
}

/** Where the safetensors reference reader stops: a longer header is not a checkpoint. */
const MAX_HEADER_BYTES = 100_000_000;

function parseHeader(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) throw new CheckpointError('the file is too short to be a safetensors file.');
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength <= 0 || headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.length)
    throw new CheckpointError('the header length does not fit the file (truncated or not a safetensors file).');
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
  } catch {
    throw new CheckpointError('the header is not valid JSON (not a safetensors file, or damaged).');
  }
  if (!isRecord(header)) throw new CheckpointError('the header is not a JSON object of tensors (not a safetensors file, or damaged).');
  return { header, dataStart: 8 + headerLength };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJsonField(meta: Record<string, unknown>, field: string): unknown {
  if (typeof meta[field] !== 'string') throw new CheckpointError(`the metadata field "${field}" is missing.`);
  try {
    return JSON.parse(meta[field]);
  } catch {
    throw new CheckpointError(`the metadata field "${field}" is not valid JSON.`);
  }
}

/**
 * Parses and checks a whole checkpoint file: format, config, tokenizer, the CRC, the tensor table (contiguous
 * offsets, sizes), every tensor the config needs with its shape and no other, and every value finite and sane.
 * Throws CheckpointError, whose message names the cause.
 */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  try {
    return decodeChecked(bytes);
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('the file is malformed in a way that this reader does not recognise.', { cause: err });
  }
}

function decodeChecked(bytes: Uint8Array): Checkpoint {
  const { header, dataStart } = parseHeader(bytes);
  const { meta, kind, config, tokenizer } = readMetadata(header);
  const body = bytes.subarray(dataStart);
  if (crc32(body).toString(16) !== meta.crc32) throw new CheckpointError('the weights are damaged (checksum mismatch).');
  const entries = tensorEntries(header);
  checkContiguous(entries, body.length);
  checkModelTensors(checkpointShapes(kind, config), kind, entries);
  const tensors = new Map(entries.map((e) => [e.name, readValues(e, body)]));
  return { kind, config, tokenizer, tensors, createdAt: String(meta.createdAt ?? ''), note: String(meta.note ?? '') };
}

/** The metadata's format, kind, config and tokenizer, each checked, and the tokenizer fitting the config. */
function readMetadata(header: Record<string, unknown>) {
  const meta = header.__metadata__;
  if (!isRecord(meta)) throw new CheckpointError(`it is not a ${CHECKPOINT_FORMAT} checkpoint (its header has no __metadata__).`);
  if (meta.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(
      `it is not a ${CHECKPOINT_FORMAT} checkpoint (metadata.format is ${JSON.stringify(meta.format) ?? 'missing'}).`,
    );
  const kind = meta.kind;
  if (kind !== 'policy' && kind !== 'reward') throw new CheckpointError(`unknown checkpoint kind ${JSON.stringify(kind)}.`);
  const config = parseJsonField(meta, 'config') as ModelConfig;
  const problem = configError(config);
  if (problem) throw new CheckpointError(problem + '.');
  let tokenizer: Tokenizer;
  try {
    tokenizer = tokenizerFromJSON(parseJsonField(meta, 'tokenizer'));
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError(`its tokenizer is invalid (${(err as Error).message}).`);
  }
  if (tokenizer.vocabSize !== config.vocabSize)
    throw new CheckpointError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model expects ${config.vocabSize}.`);
  return { meta, kind: kind as CheckpointKind, config, tokenizer };
}

/** Exactly the tensors a model of this kind and config has, each of its shape. */
function checkModelTensors(expected: [string, number[]][], kind: CheckpointKind, entries: readonly TensorEntry[]): void {
  const found = new Map(entries.map((e) => [e.name, e]));
  for (const [name, shape] of expected) {
    const t = found.get(name);
    if (!t) throw new CheckpointError(`tensor ${name} is missing.`);
    if (t.shape.join('x') !== shape.join('x'))
      throw new CheckpointError(`tensor ${name} has shape [${t.shape}] but the config needs [${shape}].`);
  }
  const known = new Set(expected.map(([name]) => name));
  const unknown = entries.find((e) => !known.has(e.name));
  if (unknown) throw new CheckpointError(`it holds a tensor "${unknown.name}" that a ${kind} model of this config does not have.`);
}

/** Reads a model's weights (plus any extra tensors, such as a reward head) into a checkpoint. */
export async function checkpointOf(
  model: GPT,
  tokenizer: Tokenizer,
  kind: CheckpointKind = 'policy',
  extra: Map<string, tf.Tensor> = new Map(),
  note = '',
): Promise<Checkpoint> {
  const tensors = new Map<string, NamedArray>();
  for (const [name, t] of [...model.params, ...extra]) tensors.set(name, { shape: t.shape, data: (await t.data()) as Float32Array });
  return { kind, config: model.config, tokenizer, tensors, createdAt: new Date().toISOString(), note };
}

/** A fresh model holding a checkpoint's weights (no probe: see probedModelFromCheckpoint for models that replace the session's). */
export function modelFromCheckpoint(ckpt: Checkpoint, trainable = true): GPT {
  const values = new Map<string, tf.Tensor>();
  for (const [name] of parameterShapes(ckpt.config)) {
    const { shape, data } = ckpt.tensors.get(name)!;
    values.set(name, tf.tensor(data, shape, 'float32'));
  }
  const model = GPT.fromWeights(ckpt.config, values, trainable);
  values.forEach((t) => t.dispose());
  return model;
}

/** A prompt that a loaded model must answer with finite logits before it replaces anything. */
const PROBE_PROMPT = 'Instruction: Write a short story about a cat.\nResponse:';

/** Why a model's forward pass on the probe prompt is not usable (logits not finite), or null. */
export async function probeError(model: GPT, tokenizer: Tokenizer): Promise<string | null> {
  const ids = tokenizer.encode(PROBE_PROMPT).slice(0, model.config.blockSize);
  // a sum is NaN or infinite when any logit is (a max can skip NaN on some backends)
  const total = tf.tidy(() => tf.sum(model.logits(tf.tensor2d([ids], [1, ids.length], 'int32'))));
  const value = (await total.data())[0];
  total.dispose();
  return Number.isFinite(value)
    ? null
    : `a forward pass on a probe prompt gives logits that are not finite (${value}): the weights do not make a working model.`;
}

/** A fresh model holding a checked checkpoint's weights, once a forward pass on a probe prompt is finite; refused (and freed) otherwise. */
export async function probedModelFromCheckpoint(ckpt: Checkpoint, trainable = true): Promise<GPT> {
  const model = modelFromCheckpoint(ckpt, trainable);
  const problem = await probeError(model, ckpt.tokenizer);
  if (problem) {
    model.dispose();
    throw new CheckpointError(problem);
  }
  return model;
}
