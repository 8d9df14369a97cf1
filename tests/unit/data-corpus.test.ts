import { describe, expect, it } from 'vitest';
import { sampleLmBatch } from '../../src/lib/data/batches';
import { CharTokenizer } from '../../src/lib/data/charTokenizer';
import { encodeDocuments, formatBytes, splitDocuments, splitTrainVal, validateCorpus } from '../../src/lib/data/corpus';
import { Rng } from '../../src/lib/data/rng';

const prose = 'Tom went to the park with his dog. '.repeat(40);

describe('validateCorpus', () => {
  it('accepts ordinary text, as a string or as UTF-8 bytes', () => {
    expect(validateCorpus(prose)).toEqual({ ok: true, text: prose });
    const bytes = new TextEncoder().encode(`\uFEFF${prose.replace(/\. /g, '.\r\n')}é`);
    const result = validateCorpus(bytes);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.text).toBe(`${prose.replace(/\. /g, '.\n')}é`);
  });

  it('rejects an empty corpus', () => {
    for (const input of ['', '   \n\t  \n', new Uint8Array(0)]) {
      const result = validateCorpus(input);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.error).toMatch(/^The corpus is empty/);
    }
  });

  it('rejects binary input', () => {
    const withNul = new TextEncoder().encode(`${prose}\0${prose}`);
    const invalidUtf8 = Uint8Array.from([...new TextEncoder().encode(prose), 0xff, 0xfe, 0x80]);
    const controlHeavy = prose + '\u0001\u0002\u0003\u0004'.repeat(100);
    for (const input of [withNul, invalidUtf8, controlHeavy]) {
      const result = validateCorpus(input);
      expect(result).toEqual({ ok: false, error: expect.stringMatching(/^This looks like a binary file/) });
    }
  });

  it('rejects an oversized corpus, naming the size and the limit', () => {
    const big = new Uint8Array(6 * 1024 * 1024).fill(0x61);
    expect(validateCorpus(big)).toEqual({ ok: false, error: expect.stringContaining('6 MB, over the 5 MB limit') });
    expect(validateCorpus(prose, { maxBytes: 1000 })).toEqual({
      ok: false,
      error: expect.stringContaining('1.4 KB, over the 1000 bytes limit'),
    });
  });

  it('rejects a corpus too short to train on', () => {
    const result = validateCorpus('Tom went to the park.');
    expect(result).toEqual({ ok: false, error: expect.stringMatching(/too short.*21 characters.*1,000/) });
  });

  it('formats sizes', () => {
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(2048)).toBe('2 KB');
    expect(formatBytes(5.5 * 1024 * 1024)).toBe('5.5 MB');
  });
});

describe('documents', () => {
  it('splits on blank lines, else lines, else long runs', () => {
    expect(splitDocuments('a b\nc\n\n\nd e\n  \nf')).toEqual(['a b\nc', 'd e', 'f']);
    expect(splitDocuments('one\ntwo\n')).toEqual(['one', 'two']);
    const pieces = splitDocuments('word '.repeat(1000));
    expect(pieces.length).toBeGreaterThan(4);
    expect(pieces.every((p) => p.length <= 1000)).toBe(true);
    expect(pieces.join(' ')).toBe('word '.repeat(1000).trim());
  });

  it('splits train and validation deterministically without losing documents', () => {
    const docs = Array.from({ length: 100 }, (_, i) => `doc ${i}`);
    const split = splitTrainVal(docs, 0.1, 42);
    expect(split.val).toHaveLength(10);
    expect(split.train).toHaveLength(90);
    expect([...split.train, ...split.val].sort()).toEqual([...docs].sort());
    expect(splitTrainVal(docs, 0.1, 42)).toEqual(split);
    expect(splitTrainVal(docs, 0.1, 43)).not.toEqual(split);
    expect(splitTrainVal(['a', 'b'], 0.01, 1).val).toHaveLength(1);
    expect(splitTrainVal(docs, 0, 1).val).toHaveLength(0);
    expect(() => splitTrainVal(docs, 1, 1)).toThrow(/\[0, 1\)/);
    expect(() => splitTrainVal(['only'], 0.1, 1)).toThrow(/two documents/);
  });

  it('encodes documents each followed by eos', () => {
    const tokenizer = CharTokenizer.fromText('abc');
    const tokens = encodeDocuments(tokenizer, ['ab', '', 'c']);
    expect(Array.from(tokens)).toEqual([0, 1, tokenizer.eosId, tokenizer.eosId, 2, tokenizer.eosId]);
  });
});

describe('sampleLmBatch', () => {
  const tokens = Int32Array.from({ length: 100 }, (_, i) => i);

  it('returns windows of the given shape with targets shifted by one', () => {
    const { x, y } = sampleLmBatch(tokens, 4, 8, new Rng(1));
    expect(x).toHaveLength(32);
    expect(y).toHaveLength(32);
    for (let row = 0; row < 4; row++) {
      const start = x[row * 8];
      for (let t = 0; t < 8; t++) {
        expect(x[row * 8 + t]).toBe(start + t);
        expect(y[row * 8 + t]).toBe(start + t + 1);
      }
    }
  });

  it('reaches both ends of the data and is seeded', () => {
    const starts = new Set<number>();
    const rng = new Rng(2);
    for (let i = 0; i < 200; i++) starts.add(sampleLmBatch(tokens, 8, 90, rng).x[0]);
    expect(starts.has(0)).toBe(true);
    expect(starts.has(9)).toBe(true);
    expect(Math.max(...starts)).toBe(9);
    expect(sampleLmBatch(tokens, 2, 5, new Rng(3))).toEqual(sampleLmBatch(tokens, 2, 5, new Rng(3)));
  });

  it('says clearly when there are too few tokens', () => {
    expect(() => sampleLmBatch(tokens.subarray(0, 8), 1, 8, new Rng(1))).toThrow(/needs 9, but the data has 8/);
    expect(sampleLmBatch(tokens.subarray(0, 9), 1, 8, new Rng(1)).y[7]).toBe(8);
    expect(() => sampleLmBatch(tokens, 0, 8, new Rng(1))).toThrow(/batchSize must be a positive integer/);
  });
});
