import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer } from '../../src/lib/data/charTokenizer';
import {
  checkpointOf,
  CheckpointError,
  decodeCheckpoint,
  encodeCheckpoint,
  MAX_ABS_WEIGHT,
  modelFromCheckpoint,
  probeError,
  probedModelFromCheckpoint,
} from '../../src/lib/model/checkpoint';
import { crc32 } from '../../src/lib/model/crc32';
import type { ModelConfig } from '../../src/lib/model/config';
import { GPT } from '../../src/lib/model/gpt';
import { Session } from '../../src/lib/session/session';
import { idbGet, idbPut } from '../../src/lib/storage/idb';
import { CPU_BACKEND } from './tiny-session';
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

type Entry = { dtype: unknown; shape: unknown; data_offsets?: unknown };
type Header = Record<string, unknown> & { __metadata__: Record<string, string> };

/** A file's header and data section, to damage. */
function split(bytes: Uint8Array): { header: Header; body: Uint8Array } {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))), body: bytes.slice(8 + length) };
}

/** A file from a header and a data section, its checksum recomputed (so that only the damage meant is there). */
function join(header: Header, body: Uint8Array, keepChecksum = false): Uint8Array {
  if (!keepChecksum) header.__metadata__.crc32 = crc32(body).toString(16);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + body.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(body, 8 + json.length);
  return out;
}

/** The file with its header and data changed by `damage`, checksum recomputed. */
function damaged(bytes: Uint8Array, damage: (header: Header, body: Uint8Array) => Uint8Array | void): Uint8Array {
  const { header, body } = split(bytes);
  return join(header, damage(header, body) ?? body);
}

const entry = (header: Header, name: string) => header[name] as Entry;
const offsetsOf = (header: Header, name: string) => entry(header, name).data_offsets as [number, number];

/** Sets one float of tensor `name` in the data section. */
function setValue(header: Header, body: Uint8Array, name: string, index: number, value: number): void {
  new DataView(body.buffer, body.byteOffset).setFloat32(offsetsOf(header, name)[0] + 4 * index, value, true);
}

function withoutChecksum(bytes: Uint8Array): Uint8Array {
  const { header, body } = split(bytes);
  delete (header.__metadata__ as Record<string, unknown>).crc32;
  return join(header, body, true);
}

function withRawHeader(json: string): Uint8Array {
  const text = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + text.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
  out.set(text, 8);
  return out;
}

/** Every kind of damage, with the cause its refusal must name. */
function damagedFiles(bytes: Uint8Array): [string, Uint8Array, RegExp][] {
  const tensorNames = Object.keys(split(bytes).header).filter((k) => k !== '__metadata__');
  const [first, second] = tensorNames;
  const last = tensorNames.at(-1)!;
  const flipped = bytes.slice();
  flipped[flipped.length - 5] ^= 0xff;
  const hugeLength = bytes.slice();
  new DataView(hugeLength.buffer).setBigUint64(0, BigInt(bytes.length * 2), true);
  return [
    ['too short', bytes.subarray(0, 4), /too short/],
    ['truncated', bytes.subarray(0, bytes.length - 100), /damaged \(checksum/],
    ['a flipped byte', flipped, /damaged \(checksum/],
    ['not a safetensors file', new TextEncoder().encode('PK\u0003\u0004 this is a zip file, not a checkpoint'), /header length/],
    ['header longer than the file', hugeLength, /header length does not fit/],
    ['header not JSON', withRawHeader('{"wte": [1, 2'), /header is not valid JSON/],
    ['header a JSON array', withRawHeader('[1, 2, 3]'), /not a JSON object/],
    ['no metadata', withRawHeader('{"wte": {}}'), /not a rlhf-playground\/1 checkpoint/],
    ['unknown kind', damaged(bytes, (h) => void (h.__metadata__.kind = 'value')), /unknown checkpoint kind "value"/],
    ['config missing', damaged(bytes, (h) => void delete (h.__metadata__ as Record<string, unknown>).config), /"config" is missing/],
    ['config not JSON', damaged(bytes, (h) => void (h.__metadata__.config = '{nLayer: 1')), /"config" is not valid JSON/],
    [
      'config with no layers',
      damaged(bytes, (h) => void (h.__metadata__.config = JSON.stringify({ ...cfg, nLayer: 0 }))),
      /"nLayer" must be a positive integer/,
    ],
    ['tokenizer not JSON', damaged(bytes, (h) => void (h.__metadata__.tokenizer = '{"kind"')), /"tokenizer" is not valid JSON/],
    [
      'tokenizer of an unknown kind',
      damaged(bytes, (h) => void (h.__metadata__.tokenizer = '{"kind":"word"}')),
      /tokenizer is invalid \(Unknown tokenizer kind "word"/,
    ],
    ['checksum missing', withoutChecksum(bytes), /checksum/],
    [
      'every offset shifted by 4 bytes',
      damaged(bytes, (h) => {
        for (const name of tensorNames) entry(h, name).data_offsets = offsetsOf(h, name).map((o) => o + 4);
      }),
      new RegExp(`4 bytes at the start of the data belong to no tensor \\(tensor ${first} begins at 4`),
    ],
    [
      'one offset shifted by 4 bytes (a gap)',
      damaged(bytes, (h) => void (entry(h, second).data_offsets = offsetsOf(h, second).map((o) => o + 4))),
      new RegExp(`4 bytes after tensor ${first} belong to no tensor`),
    ],
    [
      'overlapping offsets',
      damaged(bytes, (h) => void (entry(h, second).data_offsets = offsetsOf(h, second).map((o) => o - 4))),
      new RegExp(`tensors ${first} and ${second} overlap`),
    ],
    [
      'offsets given as strings',
      damaged(bytes, (h) => void (entry(h, first).data_offsets = offsetsOf(h, first).map(String))),
      new RegExp(`tensor ${first} has data_offsets \\["0","\\d+"\\]; they must be two whole numbers`),
    ],
    ['offsets missing', damaged(bytes, (h) => void delete entry(h, first).data_offsets), new RegExp(`tensor ${first} has no data_offsets`)],
    ['one offset', damaged(bytes, (h) => void (entry(h, first).data_offsets = [0])), /must be two whole numbers/],
    [
      'negative offsets',
      damaged(bytes, (h) => void (entry(h, first).data_offsets = [-4, offsetsOf(h, first)[1] - 4])),
      /must be two whole numbers/,
    ],
    [
      'fractional offsets',
      damaged(bytes, (h) => void (entry(h, first).data_offsets = [0.5, offsetsOf(h, first)[1] + 0.5])),
      /must be two whole numbers/,
    ],
    [
      'a size that does not match the shape',
      damaged(bytes, (h) => void (entry(h, first).shape = [cfg.vocabSize, 4])),
      new RegExp(`tensor ${first} spans \\d+ bytes but its shape \\[\\d+,4\\] of F32 needs`),
    ],
    ['dtype F16', damaged(bytes, (h) => void (entry(h, first).dtype = 'F16')), /dtype "F16"; only F32/],
    [
      'shape not a list',
      damaged(bytes, (h) => void (entry(h, first).shape = '8x8')),
      /has shape "8x8"; a shape is a list of whole numbers/,
    ],
    ['an entry that is not an object', damaged(bytes, (h) => void (h[first] = 'wte')), /not a description of a tensor/],
    [
      'the last tensor beyond the file',
      damaged(bytes, (_h, body) => body.slice(0, body.length - 8)),
      new RegExp(`tensor ${last} ends at byte \\d+, beyond the \\d+ bytes of data`),
    ],
    [
      'bytes after the last tensor',
      damaged(bytes, (_h, body) => Uint8Array.from([...body, 0, 0, 0, 0])),
      /last 4 bytes of data belong to no tensor/,
    ],
    [
      'a NaN weight',
      damaged(bytes, (h, body) => setValue(h, body, 'wpe', 3, NaN)),
      /tensor wpe holds a value that is not a number \(NaN\) at index 3/,
    ],
    [
      'an infinite weight',
      damaged(bytes, (h, body) => setValue(h, body, 'wpe', 5, -Infinity)),
      /tensor wpe holds an infinite value at index 5/,
    ],
    [
      'a weight of 1e30',
      damaged(bytes, (h, body) => setValue(h, body, 'h0.mlp.wfc', 7, 1e30)),
      /tensor h0.mlp.wfc holds 1.00e\+30 at index 7, beyond/,
    ],
    [
      'an extra unknown tensor',
      damaged(bytes, (h, body) => {
        h.extra = { dtype: 'F32', shape: [2], data_offsets: [body.length, body.length + 8] };
        return Uint8Array.from([...body, ...new Uint8Array(8)]);
      }),
      /holds a tensor "extra" that a policy model of this config does not have/,
    ],
    [
      'a tensor missing',
      damaged(bytes, (h, body) => {
        const [begin, end] = offsetsOf(h, last);
        delete h[last];
        return Uint8Array.from([...body.subarray(0, begin), ...body.subarray(end)]);
      }),
      new RegExp(`tensor ${last} is missing`),
    ],
  ];
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

  it('refuses every kind of damaged file with its cause in words', async () => {
    const { bytes } = await encodedModel();
    const cases = damagedFiles(bytes);
    expect(cases.length).toBeGreaterThanOrEqual(30);
    for (const [what, input, cause] of cases) {
      let refusal: unknown = null;
      try {
        decodeCheckpoint(input);
      } catch (err) {
        refusal = err;
      }
      expect(refusal, what).toBeInstanceOf(CheckpointError);
      expect((refusal as Error).message, what).toMatch(cause);
      expect((refusal as Error).message, what).not.toMatch(/is not iterable|undefined|Cannot read|malformed in a way/);
    }
  });

  it('accepts a reward checkpoint with its head, and refuses a policy that carries one', async () => {
    const model = GPT.init(cfg, 4);
    const head = new Map<string, tf.Tensor>([
      ['reward.w', tf.zeros([cfg.nEmbd])],
      ['reward.b', tf.scalar(0.5)],
    ]);
    const reward = encodeCheckpoint(await checkpointOf(model, tokenizer, 'reward', head));
    expect(decodeCheckpoint(reward).tensors.get('reward.b')).toEqual({ shape: [], data: new Float32Array([0.5]) });
    const policy = encodeCheckpoint(await checkpointOf(model, tokenizer, 'policy', head));
    expect(() => decodeCheckpoint(policy)).toThrow(/holds a tensor "reward.w" that a policy model of this config does not have/);
  });

  it('the shipped checkpoints stay far inside the weight bound', () => {
    for (const name of ['tiny', 'default', 'sft', 'tasks']) {
      const ckpt = decodeCheckpoint(new Uint8Array(readFileSync(`public/checkpoints/${name}.safetensors`)));
      let largest = 0;
      for (const { data } of ckpt.tensors.values()) for (const v of data) largest = Math.max(largest, Math.abs(v));
      expect(largest, name).toBeLessThan(MAX_ABS_WEIGHT / 1000);
    }
  });

  it('the task-pretrained checkpoint is the shipped mini shape with the same tokenizer, and its report says what it learnt', () => {
    const read = (name: string) => decodeCheckpoint(new Uint8Array(readFileSync(`public/checkpoints/${name}.safetensors`)));
    const [tasks, shipped] = [read('tasks'), read('default')];
    expect(tasks.config).toEqual(shipped.config);
    expect(JSON.stringify(tasks.tokenizer.toJSON())).toBe(JSON.stringify(shipped.tokenizer.toJSON()));
    const report = JSON.parse(readFileSync('public/checkpoints/tasks.json', 'utf8'));
    expect(report.steps).toBe(2800);
    expect(report.valLoss).toBeCloseTo(0.481, 3);
    // fewer made-up facts than the shipped model's (99 %), and every family's share before and after SFT
    const rate = ({ count, total }: { count: number; total: number }) => count / total;
    expect(rate(report.taskCheck.madeUpFacts.before)).toBeLessThan(rate(report.taskCheck.shippedMini.madeUpFacts.before) - 0.3);
    expect(Object.keys(report.taskCheck.correct.afterSft)).toHaveLength(7);
  });

  it('a model whose forward pass is not finite is refused before it replaces anything', async () => {
    const { model, bytes } = await encodedModel(5);
    expect(await probeError(model, tokenizer)).toBeNull();
    const ckpt = decodeCheckpoint(bytes);
    // finite weights one by one can still make a forward pass that is not: here a weight the decoder would have refused
    ckpt.tensors.get('lnf.g')!.data[0] = NaN;
    const before = tf.memory().numTensors;
    await expect(probedModelFromCheckpoint(ckpt)).rejects.toThrow(/forward pass on a probe prompt gives logits that are not finite/);
    expect(tf.memory().numTensors).toBe(before); // the refused model is freed
  });

  it('a refused file leaves the model in use unchanged', async () => {
    let events = 0;
    const session = new Session(
      CPU_BACKEND,
      (e) => void (e.type === 'model' && events++),
      async () => new Uint8Array(),
    );
    session.setCorpus({ kind: 'builtin', documents: 100 });
    session.newModel({ preset: 'tiny', tokenizer: 'char' });
    const exported = await session.exportCheckpoint();
    const info = session.status().model;
    events = 0;
    for (const [what, input] of damagedFiles(exported))
      await expect(session.importCheckpoint(input, `${what}.safetensors`), what).rejects.toThrow(CheckpointError);
    expect(events).toBe(0); // no 'model' event: nothing was replaced
    expect(session.status().model).toEqual(info);
    const weightsOf = (bytes: Uint8Array) => [...decodeCheckpoint(bytes).tensors].map(([name, t]) => [name, Buffer.from(t.data.buffer)]);
    expect(weightsOf(await session.exportCheckpoint())).toEqual(weightsOf(exported));
  });

  it('saves to and loads from IndexedDB', async () => {
    const { bytes } = await encodedModel(3);
    await idbPut('checkpoints', 'slot', bytes);
    const back = await idbGet<Uint8Array>('checkpoints', 'slot');
    expect(decodeCheckpoint(back!).config).toEqual(cfg);
  });
});
