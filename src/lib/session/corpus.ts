/** The corpus: built in or pasted, checked, split into train and held-out text, and tokenized. */
import { encodeDocuments, splitTrainVal, validateCorpus } from '../data/corpus';
import type { Tokenizer } from '../data/tokenizer';
import { generateCorpus } from '../data/world';
import type { TokenSplit } from '../train/pretrain';
import type { CorpusInfo } from '../types';

export const DEFAULT_CORPUS_DOCUMENTS = 6000;
const VAL_SHARE = 0.1;

export interface Corpus {
  info: CorpusInfo;
  documents: string[];
  tokens: TokenSplit;
}

export function tokenizeCorpus(tokenizer: Tokenizer | null, kind: CorpusInfo['kind'], name: string, documents: string[]): Corpus {
  const { train, val } = splitTrainVal(documents, VAL_SHARE, 1);
  const tokens = tokenizer
    ? { train: encodeDocuments(tokenizer, train), val: encodeDocuments(tokenizer, val) }
    : { train: new Int32Array(), val: new Int32Array() };
  const characters = documents.reduce((n, d) => n + d.length, 0);
  return {
    documents,
    tokens,
    info: { kind, name, characters, documents: documents.length, trainTokens: tokens.train.length, valTokens: tokens.val.length },
  };
}

export function builtInCorpus(source: { documents?: number; seed?: number }): { name: string; documents: string[] } {
  const count = source.documents ?? DEFAULT_CORPUS_DOCUMENTS;
  return {
    name: `built-in world (${count} texts)`,
    documents: generateCorpus({ seed: source.seed ?? 1, documents: count }).map((d) => d.text),
  };
}

export function userCorpus(source: { name: string; text: string }): { name: string; documents: string[] } {
  const checked = validateCorpus(source.text);
  if (!checked.ok) throw new Error(checked.error);
  return { name: source.name, documents: checked.text.split(/\n\s*\n/).filter((d) => d.trim().length > 0) };
}
