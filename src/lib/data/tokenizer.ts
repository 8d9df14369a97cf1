/** The tokenizer interface that the model, the data pipeline and the UI share (rebuilt from JSON by tokenizerJson.ts). */

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
