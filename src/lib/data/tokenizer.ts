/** The tokenizer interface that the model, the data pipeline and the UI share, and its (de)serialisation. */
import { BpeTokenizer } from './bpeTokenizer';
import { CharTokenizer } from './charTokenizer';

export type TokenizerKind = 'char' | 'bpe';

export interface Tokenizer {
  readonly kind: TokenizerKind;
  /** Includes the end-of-text token. */
  readonly vocabSize: number;
  /** End-of-text token id; only the data pipeline inserts it, encode() never produces it. */
  readonly eosId: number;
  encode(text: string): number[];
  /** eosId decodes to ''; never throws on ids in [0, vocabSize). */
  decode(ids: readonly number[]): string;
  /** Human-readable label for the UI, e.g. '<eos>', '␣the', '\\n'. */
  tokenLabel(id: number): string;
  toJSON(): TokenizerJSON;
}

export type TokenizerJSON = { kind: 'char'; chars: string[] } | { kind: 'bpe'; merges: [number, number][] };

/** Rebuilds a tokenizer from toJSON() output (an object, or its JSON text); throws a readable Error on anything malformed. */
export function tokenizerFromJSON(json: unknown): Tokenizer {
  const value = typeof json === 'string' ? parseJson(json) : json;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`Tokenizer JSON must be an object with a "kind" field, got ${describe(value)}.`);
  }
  const kind = (value as { kind?: unknown }).kind;
  if (kind === 'char') return CharTokenizer.fromJSON(value);
  if (kind === 'bpe') return BpeTokenizer.fromJSON(value);
  throw new Error(`Unknown tokenizer kind ${JSON.stringify(kind) ?? 'undefined'}; expected "char" or "bpe".`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`Tokenizer JSON is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
