/**
 * Character tokenizer: one id per code point seen in the corpus, then 256 byte tokens that spell any
 * unseen code point in UTF-8, then end-of-text. So every string round-trips, whatever the corpus was.
 */
import type { Tokenizer, TokenizerJSON } from './tokenizer';
import { byteLabel, checkTokenId, EOS_LABEL, labelForText } from './tokenLabel';

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char';
  readonly vocabSize: number;
  readonly eosId: number;
  private readonly chars: string[];
  private readonly idOfCodePoint = new Map<number, number>();
  private readonly byteBase: number;

  constructor(chars: readonly string[]) {
    this.chars = [...chars];
    this.chars.forEach((ch, id) => this.idOfCodePoint.set(ch.codePointAt(0)!, id));
    this.byteBase = this.chars.length;
    this.eosId = this.byteBase + 256;
    this.vocabSize = this.eosId + 1;
  }

  /** Distinct code points of the corpus, sorted by code point. */
  static fromText(text: string): CharTokenizer {
    const codePoints = new Set<number>();
    for (const ch of text) codePoints.add(ch.codePointAt(0)!);
    const sorted = [...codePoints].sort((a, b) => a - b);
    return new CharTokenizer(sorted.map((cp) => String.fromCodePoint(cp)));
  }

  static fromJSON(json: unknown): CharTokenizer {
    const chars = (json as { chars?: unknown }).chars;
    if (!Array.isArray(chars)) throw new Error('Char tokenizer JSON needs "chars": an array of single characters.');
    const seen = new Set<string>();
    chars.forEach((ch, i) => {
      if (typeof ch !== 'string' || [...ch].length !== 1) {
        throw new Error(`Char tokenizer JSON: chars[${i}] must be a single character, got ${JSON.stringify(ch)}.`);
      }
      if (seen.has(ch)) throw new Error(`Char tokenizer JSON: chars[${i}] (${JSON.stringify(ch)}) appears twice.`);
      seen.add(ch);
    });
    return new CharTokenizer(chars as string[]);
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const ch of text) {
      const id = this.idOfCodePoint.get(ch.codePointAt(0)!);
      if (id !== undefined) ids.push(id);
      else for (const byte of utf8.encode(ch)) ids.push(this.byteBase + byte);
    }
    return ids;
  }

  decode(ids: readonly number[]): string {
    let text = '';
    let bytes: number[] = [];
    const flushBytes = () => {
      if (bytes.length > 0) text += utf8Decoder.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      checkTokenId(id, this.vocabSize);
      if (id === this.eosId) continue;
      if (id >= this.byteBase) {
        bytes.push(id - this.byteBase);
        continue;
      }
      flushBytes();
      text += this.chars[id];
    }
    flushBytes();
    return text;
  }

  tokenLabel(id: number): string {
    checkTokenId(id, this.vocabSize);
    if (id === this.eosId) return EOS_LABEL;
    if (id >= this.byteBase) return byteLabel(id - this.byteBase);
    return labelForText(this.chars[id]);
  }

  toJSON(): TokenizerJSON {
    return { kind: 'char', chars: [...this.chars] };
  }
}
