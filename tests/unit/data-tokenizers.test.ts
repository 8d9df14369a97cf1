import { describe, expect, it } from 'vitest';
import { BpeTokenizer, preTokenize } from '../../src/lib/data/bpeTokenizer';
import { CharTokenizer } from '../../src/lib/data/charTokenizer';
import type { Tokenizer } from '../../src/lib/data/tokenizer';
import { tokenizerFromJSON } from '../../src/lib/data/tokenizerJson';
import { generateCorpus } from '../../src/lib/data/world';

const corpus = generateCorpus({ seed: 1, documents: 400 })
  .map((d) => d.text)
  .join('\n\n');
const SAMPLES = [
  '',
  'Hello, world!',
  'Café naïve résumé — “quotes” ½ °C',
  'Emoji: 🙂🙃👍🏽 👨‍👩‍👧 🇫🇷',
  '日本語のテキスト、中文，한국어',
  'lines\nand\r\nmore\tlines\n\n   indented   ',
  "it's they're we've I'm you'll he'd 12345 3.14",
  'e\u0301 combining accent, zero\u200Bwidth, \u0000 nul and \u007F del',
  corpus.slice(0, 3000),
];

const char = CharTokenizer.fromText(corpus);
const bpe = BpeTokenizer.train(corpus, 400);

function expectRoundTrip(tokenizer: Tokenizer, text: string): void {
  const ids = tokenizer.encode(text);
  expect(ids.every((id) => Number.isInteger(id) && id >= 0 && id < tokenizer.vocabSize && id !== tokenizer.eosId)).toBe(true);
  expect(tokenizer.decode(ids)).toBe(text);
}

describe.each([
  ['char', char],
  ['bpe', bpe],
] as const)('%s tokenizer', (_, tokenizer) => {
  it('round-trips varied Unicode text exactly', () => {
    for (const text of SAMPLES) expectRoundTrip(tokenizer, text);
  });

  it('round-trips the whole corpus', () => {
    expectRoundTrip(tokenizer, corpus);
  });

  it('decodes eos to nothing and any in-range ids without throwing', () => {
    const ids = tokenizer.encode('Tom ran.');
    expect(tokenizer.decode([...ids, tokenizer.eosId])).toBe('Tom ran.');
    const all = Array.from({ length: tokenizer.vocabSize }, (_, i) => i);
    expect(() => tokenizer.decode(all.reverse())).not.toThrow();
    expect(() => tokenizer.decode([tokenizer.vocabSize])).toThrow(/outside the vocabulary/);
    expect(tokenizer.eosId).toBe(tokenizer.vocabSize - 1);
  });

  it('labels tokens readably', () => {
    expect(tokenizer.tokenLabel(tokenizer.eosId)).toBe('<eos>');
    const [newline] = tokenizer.encode('\n');
    expect(tokenizer.tokenLabel(newline)).toBe('\\n');
    for (let id = 0; id < tokenizer.vocabSize; id++) expect(tokenizer.tokenLabel(id).length).toBeGreaterThan(0);
  });

  it('survives a JSON round trip', () => {
    const restored = tokenizerFromJSON(JSON.parse(JSON.stringify(tokenizer.toJSON())));
    expect(restored.kind).toBe(tokenizer.kind);
    expect(restored.vocabSize).toBe(tokenizer.vocabSize);
    for (const text of SAMPLES) expect(restored.encode(text)).toEqual(tokenizer.encode(text));
    expect(tokenizerFromJSON(JSON.stringify(tokenizer.toJSON())).vocabSize).toBe(tokenizer.vocabSize);
  });
});

describe('char tokenizer', () => {
  it('has one id per distinct code point, sorted, plus 256 bytes and eos', () => {
    const small = CharTokenizer.fromText('banana 🙂');
    expect(small.vocabSize).toBe(5 + 256 + 1);
    expect(small.toJSON()).toEqual({ kind: 'char', chars: [' ', 'a', 'b', 'n', '🙂'] });
    expect(small.encode('ban')).toEqual([2, 1, 3]);
  });

  it('spells unseen characters as UTF-8 byte tokens', () => {
    const small = CharTokenizer.fromText('abc');
    expect(small.encode('é')).toEqual([3 + 0xc3, 3 + 0xa9]);
    expect(small.tokenLabel(3 + 0xc3)).toBe('<0xC3>');
    expect(small.decode(small.encode('aé😀c'))).toBe('aé😀c');
  });
});

describe('BPE tokenizer', () => {
  it('pre-tokenises GPT-2 style and covers every character', () => {
    expect(preTokenize("Tom's dog ran  fast!\n")).toEqual(['Tom', "'s", ' dog', ' ran', ' ', ' fast', '!', '\n']);
    const text = SAMPLES.join(' ');
    expect(preTokenize(text).join('')).toBe(text);
  });

  it('trains deterministically', () => {
    expect(BpeTokenizer.train(corpus, 400).toJSON()).toEqual(bpe.toJSON());
  });

  it('reaches the requested vocabulary size and compresses', () => {
    expect(bpe.vocabSize).toBe(400);
    const bytes = new TextEncoder().encode(corpus).length;
    expect(bpe.encode(corpus).length).toBeLessThan(bytes * 0.5);
  });

  it('merges common words into single tokens', () => {
    expect(bpe.encode(' the').length).toBe(1);
    expect(bpe.tokenLabel(bpe.encode(' the')[0])).toBe('␣the');
  });

  it('rejects vocabulary sizes out of range', () => {
    expect(() => BpeTokenizer.train(corpus, 100)).toThrow(/260 to 4096/);
    expect(() => BpeTokenizer.train(corpus, 5000)).toThrow(/260 to 4096/);
    expect(() => BpeTokenizer.train(corpus, 300.5)).toThrow(/integer/);
  });

  it('trains on a 2 MB corpus to vocabulary 512 in a few seconds', () => {
    const big = generateCorpus({ seed: 2, documents: 10_000 })
      .map((d) => d.text)
      .join('\n');
    expect(big.length).toBeGreaterThan(2_000_000);
    const start = performance.now();
    const trained = BpeTokenizer.train(big, 512);
    expect(performance.now() - start).toBeLessThan(5000);
    expect(trained.vocabSize).toBe(512);
  });
});

describe('tokenizerFromJSON', () => {
  it.each([
    [null, /must be an object/],
    [[1, 2], /must be an object/],
    ['{not json', /not valid JSON/],
    [{}, /Unknown tokenizer kind undefined/],
    [{ kind: 'word' }, /Unknown tokenizer kind "word"/],
    [{ kind: 'char' }, /needs "chars"/],
    [{ kind: 'char', chars: ['a', 'bc'] }, /chars\[1\] must be a single character/],
    [{ kind: 'char', chars: ['a', 7] }, /chars\[1\] must be a single character/],
    [{ kind: 'char', chars: ['a', 'a'] }, /chars\[1\] \("a"\) appears twice/],
    [{ kind: 'bpe', merges: 'x' }, /needs "merges"/],
    [{ kind: 'bpe', merges: [[1, 2], [3]] }, /merges\[1\] must be two token ids below 257/],
    [{ kind: 'bpe', merges: [[1, 256]] }, /merges\[0\] must be two token ids below 256/],
    [{ kind: 'bpe', merges: [[1, -1]] }, /merges\[0\]/],
    [
      {
        kind: 'bpe',
        merges: [
          [1, 2],
          [1, 2],
        ],
      },
      /repeats an earlier merge/,
    ],
  ])('rejects %j', (json, message) => {
    expect(() => tokenizerFromJSON(json)).toThrow(message);
  });
});
