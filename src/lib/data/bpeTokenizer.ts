/**
 * Byte-level BPE in the GPT-2 manner: 256 byte tokens, then one token per learned merge, then end-of-text.
 * Text is first cut into pre-tokens (words with their leading space, numbers, punctuation runs, whitespace)
 * and merges never cross a pre-token boundary.
 */
import type { Tokenizer, TokenizerJSON } from './tokenizer';
import { checkTokenId, EOS_LABEL, labelForBytes } from './tokenLabel';

export const MIN_BPE_VOCAB = 260;
export const MAX_BPE_VOCAB = 4096;

const PRE_TOKEN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const CACHE_LIMIT = 100_000;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

type Pair = [number, number];

/** Ids stay below 4096, so a pair packs into one number. */
function pairKey(a: number, b: number): number {
  return a * 65536 + b;
}

/** Pre-tokens of `text` in order; the regex covers every character, but any gap is kept as its own piece. */
export function preTokenize(text: string): string[] {
  const pieces: string[] = [];
  let end = 0;
  for (const match of text.matchAll(PRE_TOKEN)) {
    if (match.index > end) pieces.push(text.slice(end, match.index));
    pieces.push(match[0]);
    end = match.index + match[0].length;
  }
  if (end < text.length) pieces.push(text.slice(end));
  return pieces;
}

/** Replaces every left-to-right occurrence of (a, b) in `ids` with `merged`. */
function mergePair(ids: number[], a: number, b: number, merged: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    if (i + 1 < ids.length && ids[i] === a && ids[i + 1] === b) {
      out.push(merged);
      i++;
    } else {
      out.push(ids[i]);
    }
  }
  return out;
}

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe';
  readonly vocabSize: number;
  readonly eosId: number;
  private readonly merges: Pair[];
  private readonly rankOfPair = new Map<number, number>();
  private readonly tokenBytes: Uint8Array[] = [];
  private readonly cache = new Map<string, number[]>();

  constructor(merges: readonly Pair[]) {
    this.merges = merges.map(([a, b]) => [a, b]);
    for (let byte = 0; byte < 256; byte++) this.tokenBytes.push(Uint8Array.of(byte));
    this.merges.forEach(([a, b], rank) => {
      this.rankOfPair.set(pairKey(a, b), rank);
      this.tokenBytes.push(concatBytes([this.tokenBytes[a], this.tokenBytes[b]]));
    });
    this.eosId = 256 + this.merges.length;
    this.vocabSize = this.eosId + 1;
  }

  /**
   * Learns merges until the vocabulary (bytes + merges + eos) reaches `vocabSize`, or no pair is left.
   * Each step merges the most frequent adjacent pair; ties go to the smallest (left id, right id).
   */
  static train(text: string, vocabSize: number): BpeTokenizer {
    if (!Number.isInteger(vocabSize) || vocabSize < MIN_BPE_VOCAB || vocabSize > MAX_BPE_VOCAB) {
      throw new Error(`BPE vocabulary size must be an integer from ${MIN_BPE_VOCAB} to ${MAX_BPE_VOCAB}, got ${vocabSize}.`);
    }
    return new BpeTokenizer(learnMerges(text, vocabSize - 257));
  }

  static fromJSON(json: unknown): BpeTokenizer {
    const merges = (json as { merges?: unknown }).merges;
    if (!Array.isArray(merges)) throw new Error('BPE tokenizer JSON needs "merges": an array of [left id, right id] pairs.');
    if (merges.length > MAX_BPE_VOCAB - 257) {
      throw new Error(`BPE tokenizer JSON has ${merges.length} merges; at most ${MAX_BPE_VOCAB - 257} fit the vocabulary limit.`);
    }
    const seen = new Set<number>();
    merges.forEach((merge, rank) => {
      const known = 256 + rank;
      const valid = Array.isArray(merge) && merge.length === 2 && merge.every((id) => Number.isInteger(id) && id >= 0 && id < known);
      if (!valid) {
        throw new Error(`BPE tokenizer JSON: merges[${rank}] must be two token ids below ${known}, got ${JSON.stringify(merge)}.`);
      }
      const key = pairKey(merge[0], merge[1]);
      if (seen.has(key)) throw new Error(`BPE tokenizer JSON: merges[${rank}] repeats an earlier merge.`);
      seen.add(key);
    });
    return new BpeTokenizer(merges as Pair[]);
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of preTokenize(text)) for (const id of this.encodePiece(piece)) ids.push(id);
    return ids;
  }

  decode(ids: readonly number[]): string {
    const parts: Uint8Array[] = [];
    for (const id of ids) {
      checkTokenId(id, this.vocabSize);
      if (id !== this.eosId) parts.push(this.tokenBytes[id]);
    }
    return utf8Decoder.decode(concatBytes(parts));
  }

  tokenLabel(id: number): string {
    checkTokenId(id, this.vocabSize);
    return id === this.eosId ? EOS_LABEL : labelForBytes(this.tokenBytes[id]);
  }

  toJSON(): TokenizerJSON {
    return { kind: 'bpe', merges: this.merges.map(([a, b]) => [a, b]) };
  }

  /** Applies merges lowest rank first, as they were learned. */
  private encodePiece(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    let ids = Array.from(utf8.encode(piece));
    for (;;) {
      let bestRank = Infinity;
      for (let i = 0; i + 1 < ids.length; i++) {
        const rank = this.rankOfPair.get(pairKey(ids[i], ids[i + 1]));
        if (rank !== undefined && rank < bestRank) bestRank = rank;
      }
      if (bestRank === Infinity) break;
      const [a, b] = this.merges[bestRank];
      ids = mergePair(ids, a, b, 256 + bestRank);
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }
}

/**
 * Merge learning on unique pre-tokens weighted by their counts. Pair counts are kept up to date
 * incrementally: a merge only revisits the words that contain the merged pair.
 */
function learnMerges(text: string, maxMerges: number): Pair[] {
  const pieceCounts = new Map<string, number>();
  for (const piece of preTokenize(text)) pieceCounts.set(piece, (pieceCounts.get(piece) ?? 0) + 1);
  const words: number[][] = [];
  const wordCounts: number[] = [];
  for (const [piece, count] of pieceCounts) {
    words.push(Array.from(utf8.encode(piece)));
    wordCounts.push(count);
  }

  const pairCounts = new Map<number, number>();
  const wordsWithPair = new Map<number, Set<number>>();
  const countPairs = (w: number, sign: 1 | -1) => {
    const ids = words[w];
    for (let i = 0; i + 1 < ids.length; i++) {
      const key = pairKey(ids[i], ids[i + 1]);
      const count = (pairCounts.get(key) ?? 0) + sign * wordCounts[w];
      if (count > 0) pairCounts.set(key, count);
      else pairCounts.delete(key);
      if (sign > 0) {
        let holders = wordsWithPair.get(key);
        if (!holders) wordsWithPair.set(key, (holders = new Set()));
        holders.add(w);
      }
    }
  };
  words.forEach((_, w) => countPairs(w, 1));

  const merges: Pair[] = [];
  while (merges.length < maxMerges) {
    const best = mostFrequentPair(pairCounts);
    if (best === undefined) break;
    const a = Math.floor(best / 65536);
    const b = best % 65536;
    const merged = 256 + merges.length;
    merges.push([a, b]);
    // A word may be listed although an earlier merge removed the pair; merging it again changes nothing.
    for (const w of wordsWithPair.get(best) ?? []) {
      countPairs(w, -1);
      words[w] = mergePair(words[w], a, b, merged);
      countPairs(w, 1);
    }
    wordsWithPair.delete(best);
  }
  return merges;
}

function mostFrequentPair(pairCounts: Map<number, number>): number | undefined {
  let best: number | undefined;
  let bestCount = 0;
  for (const [key, count] of pairCounts) {
    if (count > bestCount || (count === bestCount && best !== undefined && key < best)) {
      best = key;
      bestCount = count;
    }
  }
  return best;
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
