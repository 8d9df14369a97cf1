/**
 * Checkpoints in the safetensors format (https://github.com/huggingface/safetensors):
 *   8 bytes   little-endian u64 N, the header length
 *   N bytes   JSON header: { "__metadata__": {string: string}, name: {dtype: "F32", shape, data_offsets: [begin, end]}, ... }
 *   the rest  the tensors' bytes, little-endian float32, at the offsets given (relative to the end of the header)
 * Our metadata: format "rlhf-playground/1", kind ("policy" | "reward"), config (the ModelConfig as JSON),
 * tokenizer (TokenizerJSON as JSON), crc32 (of the data section, hex), createdAt, and an optional note.
 * Any safetensors reader opens these files; decodeCheckpoint checks everything before anything is replaced.
 */
import * as tf from '@tensorflow/tfjs';
import { configError, parameterShapes, type ModelConfig } from './config';
import { crc32 } from './crc32';
import { GPT } from './gpt';
import { tokenizerFromJSON, type Tokenizer } from '../data/tokenizer';

export const CHECKPOINT_FORMAT = 'rlhf-playground/1';

export type CheckpointKind = 'policy' | 'reward';

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export interface Checkpoint {
  kind: CheckpointKind;
  config: ModelConfig;
  tokenizer: Tokenizer;
  tensors: Map<string, NamedArray>;
  createdAt: string;
  note: string;
}

export class CheckpointError extends Error {
  constructor(message: string) {
    super(`Cannot load this checkpoint: ${message}`);
    this.name = 'CheckpointError';
  }
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

function parseHeader(bytes: Uint8Array): { header: Record<string, unknown>; dataStart: number } {
  if (bytes.length < 8) throw new CheckpointError('the file is too short to be a safetensors file.');
  const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (headerLength <= 0 || 8 + headerLength > bytes.length)
    throw new CheckpointError('the header length does not fit the file (truncated or not a safetensors file).');
  try {
    const header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLength)));
    if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error('not an object');
    return { header, dataStart: 8 + headerLength };
  } catch {
    throw new CheckpointError('the header is not valid JSON (not a safetensors file, or damaged).');
  }
}

function parseJsonField(meta: Record<string, unknown>, field: string): unknown {
  try {
    return JSON.parse(String(meta[field]));
  } catch {
    throw new CheckpointError(`the metadata field "${field}" is not valid JSON.`);
  }
}

/** Parses and checks a checkpoint file: format, config, tokenizer, every tensor's shape and bounds, and the CRC. Throws CheckpointError. */
export function decodeCheckpoint(bytes: Uint8Array): Checkpoint {
  const { header, dataStart } = parseHeader(bytes);
  const meta = header.__metadata__ as Record<string, unknown> | undefined;
  if (!meta || meta.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(`it is not a ${CHECKPOINT_FORMAT} checkpoint (metadata.format is ${JSON.stringify(meta?.format)}).`);
  const kind = meta.kind;
  if (kind !== 'policy' && kind !== 'reward') throw new CheckpointError(`unknown checkpoint kind ${JSON.stringify(kind)}.`);
  const config = parseJsonField(meta, 'config') as ModelConfig;
  const problem = configError(config);
  if (problem) throw new CheckpointError(problem + '.');
  let tokenizer: Tokenizer;
  try {
    tokenizer = tokenizerFromJSON(parseJsonField(meta, 'tokenizer'));
  } catch (err) {
    throw new CheckpointError(`its tokenizer is invalid (${(err as Error).message}).`);
  }
  if (tokenizer.vocabSize !== config.vocabSize)
    throw new CheckpointError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model expects ${config.vocabSize}.`);
  const body = bytes.subarray(dataStart);
  if (crc32(body).toString(16) !== meta.crc32) throw new CheckpointError('the weights are damaged (checksum mismatch).');
  const tensors = readTensors(header, body);
  checkModelTensors(config, tensors);
  return { kind, config, tokenizer, tensors, createdAt: String(meta.createdAt ?? ''), note: String(meta.note ?? '') };
}

function readTensors(header: Record<string, unknown>, body: Uint8Array): Map<string, NamedArray> {
  const tensors = new Map<string, NamedArray>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (dtype !== 'F32') throw new CheckpointError(`tensor ${name} has dtype ${dtype}; only F32 is supported.`);
    const size = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    if (!(begin >= 0 && end <= body.length && end - begin === size * 4))
      throw new CheckpointError(`tensor ${name} lies outside the file or has the wrong size.`);
    const data = new Float32Array(size);
    new Uint8Array(data.buffer).set(body.subarray(begin, end));
    tensors.set(name, { shape, data });
  }
  return tensors;
}

function checkModelTensors(config: ModelConfig, tensors: Map<string, NamedArray>): void {
  for (const [name, shape] of parameterShapes(config)) {
    const t = tensors.get(name);
    if (!t) throw new CheckpointError(`tensor ${name} is missing.`);
    if (t.shape.join('x') !== shape.join('x'))
      throw new CheckpointError(`tensor ${name} has shape [${t.shape}] but the config needs [${shape}].`);
  }
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

/** A fresh model holding a checkpoint's weights. */
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
