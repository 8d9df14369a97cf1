/** A tokenizer rebuilt from its toJSON() output, of either kind: the one place that knows both implementations. */
import { BpeTokenizer } from './bpeTokenizer';
import { CharTokenizer } from './charTokenizer';
import type { Tokenizer } from './tokenizer';

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
