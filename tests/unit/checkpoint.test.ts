import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer } from '../../src/lib/data/charTokenizer';
import { checkpointOf, CheckpointError, decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from '../../src/lib/model/checkpoint';
import type { ModelConfig } from '../../src/lib/model/config';
import { GPT } from '../../src/lib/model/gpt';
import { idbGet, idbPut } from '../../src/lib/storage/idb';
import { useWasmBackend } from './setup-tf';

const tokenizer = CharTokenizer.fromText('hello world, a small corpus');
const cfg: ModelConfig = { vocabSize: tokenizer.vocabSize, blockSize: 16, nLayer: 1, nHead: 2, nEmbd: 8 };

async function encodedModel(seed = 1): Promise<{ model: GPT; bytes: Uint8Array }> {
  const model = GPT.init(cfg, seed);
  return { model, bytes: encodeCheckpoint(await checkpointOf(model, tokenizer, 'policy', new Map(), 'test')) };
}

async function weights(model: GPT): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, v] of model.params) out.set(name, (await v.data()) as Float32Array);
  return out;
}

beforeAll(useWasmBackend);

describe('checkpoints (safetensors)', () => {
  it('round-trip bit-exact, with config and tokenizer', async () => {
    const { model, bytes } = await encodedModel();
    const ckpt = decodeCheckpoint(bytes);
    expect(ckpt.config).toEqual(cfg);
    expect(ckpt.tokenizer.encode('hello')).toEqual(tokenizer.encode('hello'));
    const restored = modelFromCheckpoint(ckpt);
    const [a, b] = [await weights(model), await weights(restored)];
    for (const [name, data] of a) expect(Buffer.from(b.get(name)!.buffer).equals(Buffer.from(data.buffer))).toBe(true);
    const ids = tf.tensor2d([[1, 2, 3]], undefined, 'int32');
    expect(await restored.logits(ids).array()).toEqual(await model.logits(ids).array());
  });

  it('is a valid safetensors file: u64 header length, JSON header, F32 tensors at their offsets', async () => {
    const { bytes } = await encodedModel();
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
    expect(header.__metadata__.format).toBe('rlhf-playground/1');
    expect(header.wte).toMatchObject({ dtype: 'F32', shape: [cfg.vocabSize, 8] });
    expect((8 + headerLength) % 8).toBe(0);
  });

  it('rejects truncated, damaged, foreign and mismatched files with a clear message', async () => {
    const { bytes } = await encodedModel();
    const damaged = bytes.slice();
    damaged[damaged.length - 5] ^= 0xff;
    const notOurs = new TextEncoder().encode('PK\u0003\u0004 this is a zip file, not a checkpoint');
    const cases: [Uint8Array, RegExp][] = [
      [bytes.subarray(0, 4), /too short/],
      [bytes.subarray(0, bytes.length - 100), /damaged|outside/],
      [damaged, /damaged \(checksum/],
      [notOurs, /header length|safetensors/],
    ];
    for (const [input, message] of cases) {
      expect(() => decodeCheckpoint(input)).toThrow(CheckpointError);
      expect(() => decodeCheckpoint(input)).toThrow(message);
    }
    // a config that the tensors do not match, and a tokenizer that does not fit the model
    const ckpt = decodeCheckpoint(bytes);
    const wider = encodeCheckpoint({ ...ckpt, config: { ...cfg, nEmbd: 16 } });
    expect(() => decodeCheckpoint(wider)).toThrow(/tensor wte has shape \[\d+,8\] but the config needs \[\d+,16\]/);
    const otherTokenizer = encodeCheckpoint({ ...ckpt, tokenizer: CharTokenizer.fromText('xyz') });
    expect(() => decodeCheckpoint(otherTokenizer)).toThrow(/tokenizer has \d+ tokens but the model expects/);
  });

  it('saves to and loads from IndexedDB', async () => {
    const { bytes } = await encodedModel(3);
    await idbPut('checkpoints', 'slot', bytes);
    const back = await idbGet<Uint8Array>('checkpoints', 'slot');
    expect(decodeCheckpoint(back!).config).toEqual(cfg);
  });
});
