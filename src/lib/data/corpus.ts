/** User corpora: validation with messages a user can act on, documents, train/validation split, encoding. */
import { Rng } from './rng';
import type { Tokenizer } from './tokenizer';

export const DEFAULT_MAX_CORPUS_BYTES = 5 * 1024 * 1024;
export const MIN_CORPUS_CHARS = 1000;
/** Above this share of control characters (other than tab and newlines) a text is taken for binary. */
const MAX_CONTROL_SHARE = 0.02;

export type CorpusCheck = { ok: true; text: string } | { ok: false; error: string };

/** Accepts the text (BOM dropped, CRLF made LF) or says why not. */
export function validateCorpus(input: string | Uint8Array, opts: { maxBytes?: number } = {}): CorpusCheck {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_CORPUS_BYTES;
  const size = typeof input === 'string' ? new TextEncoder().encode(input).length : input.length;
  if (size > maxBytes) {
    return {
      ok: false,
      error: `The corpus is ${formatBytes(size)}, over the ${formatBytes(maxBytes)} limit. Use a smaller file or a part of it.`,
    };
  }
  const decoded = typeof input === 'string' ? input : decodeUtf8(input);
  if (decoded === null || looksBinary(decoded)) {
    return { ok: false, error: 'This looks like a binary file, not text. Upload a plain UTF-8 text file (.txt).' };
  }
  const text = decoded.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  if (text.trim() === '') return { ok: false, error: 'The corpus is empty: it has no text to train on.' };
  const chars = [...text].length;
  if (chars < MIN_CORPUS_CHARS) {
    return {
      ok: false,
      error: `The corpus is too short to train on: ${chars} characters, and at least ${MIN_CORPUS_CHARS.toLocaleString('en-US')} are needed.`,
    };
  }
  return { ok: true, text };
}

/**
 * Documents of a text: paragraphs separated by blank lines; failing that, lines; failing that,
 * pieces of about 1000 characters cut at spaces.
 */
export function splitDocuments(text: string): string[] {
  for (const separator of [/\n\s*\n/, /\n/]) {
    const docs = text
      .split(separator)
      .map((d) => d.trim())
      .filter((d) => d !== '');
    if (docs.length > 1) return docs;
  }
  return (
    text
      .trim()
      .match(/[\s\S]{1,1000}(?=\s|$)|\S+/g)
      ?.map((d) => d.trim())
      .filter((d) => d !== '') ?? []
  );
}

/** A seeded shuffle, then the last round(valShare * n) documents (at least one, if any) go to validation. */
export function splitTrainVal(docs: string[], valShare: number, seed: number): { train: string[]; val: string[] } {
  if (!(valShare >= 0 && valShare < 1)) throw new Error(`The validation share must be in [0, 1), got ${valShare}.`);
  if (docs.length < 2 && valShare > 0) throw new Error('At least two documents are needed to hold some out for validation.');
  const shuffled = new Rng(seed).shuffle([...docs]);
  const valCount = valShare === 0 ? 0 : Math.min(docs.length - 1, Math.max(1, Math.round(valShare * docs.length)));
  return { train: shuffled.slice(0, docs.length - valCount), val: shuffled.slice(docs.length - valCount) };
}

/** Every document's tokens followed by the end-of-text token, all in one array. */
export function encodeDocuments(tokenizer: Tokenizer, docs: readonly string[]): Int32Array {
  const encoded = docs.map((doc) => tokenizer.encode(doc));
  const tokens = new Int32Array(encoded.reduce((n, ids) => n + ids.length + 1, 0));
  let offset = 0;
  for (const ids of encoded) {
    tokens.set(ids, offset);
    tokens[offset + ids.length] = tokenizer.eosId;
    offset += ids.length + 1;
  }
  return tokens;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${trimZero(bytes / 1024)} KB`;
  return `${trimZero(bytes / (1024 * 1024))} MB`;
}

function trimZero(value: number): string {
  return value.toFixed(1).replace(/\.0$/, '');
}

function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

function looksBinary(text: string): boolean {
  if (text.includes('\0')) return true;
  let control = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const isControl = (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d && code !== 0x0c) || (code >= 0x7f && code < 0xa0);
    if (isControl) control++;
  }
  return text.length > 0 && control / text.length > MAX_CONTROL_SHARE;
}
