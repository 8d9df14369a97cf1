/**
 * The policy the session trains: the model, its tokenizer, where it came from, and the corpus tokenized
 * for it. A model with another tokenizer re-tokenizes the corpus.
 */
import { BpeTokenizer } from '../data/bpeTokenizer';
import { CharTokenizer } from '../data/charTokenizer';
import type { Tokenizer } from '../data/tokenizer';
import { configFromPreset, countParams, presetOf } from '../model/config';
import { GPT } from '../model/gpt';
import type { CorpusInfo, CorpusSource, LineageInfo, ModelInfo, NewModelOptions } from '../types';
import { builtInCorpus, tokenizeCorpus, userCorpus, type Corpus } from './corpus';

export class PolicySlot {
  model: GPT | null = null;
  tokenizer: Tokenizer | null = null;
  source = '';
  /** The shipped checkpoint's pretraining figures, from the metadata file beside it. */
  pretrained: ModelInfo['pretrained'];
  corpus: Corpus | null = null;
  corpusSource: CorpusSource | null = null;

  policy(): { model: GPT; tokenizer: Tokenizer } {
    if (!this.model || !this.tokenizer) throw new Error('No model is loaded yet.');
    return { model: this.model, tokenizer: this.tokenizer };
  }

  requireCorpus(): Corpus {
    if (!this.corpus) throw new Error('No corpus is loaded yet.');
    return this.corpus;
  }

  info({ lineage, version }: LineageInfo): ModelInfo | null {
    if (!this.model || !this.tokenizer) return null;
    const config = this.model.config;
    const tokenizer = { kind: this.tokenizer.kind, vocabSize: this.tokenizer.vocabSize };
    return {
      preset: presetOf(config),
      config,
      params: countParams(config),
      tokenizer,
      source: this.source,
      lineage,
      version,
      pretrained: this.pretrained,
    };
  }

  /** The old model is disposed. */
  replace(model: GPT, tokenizer: Tokenizer, source: string, pretrained?: ModelInfo['pretrained']): void {
    this.model?.dispose();
    this.model = model;
    const tokenizerChanged = tokenizer !== this.tokenizer;
    this.tokenizer = tokenizer;
    this.source = source;
    this.pretrained = pretrained;
    if (this.corpus && tokenizerChanged)
      this.corpus = tokenizeCorpus(this.tokenizer, this.corpus.info.kind, this.corpus.info.name, this.corpus.documents);
  }

  setCorpus(source: CorpusSource): CorpusInfo {
    const { name, documents } = source.kind === 'builtin' ? builtInCorpus(source) : userCorpus(source);
    this.corpusSource = source;
    this.corpus = tokenizeCorpus(this.tokenizer, source.kind, name, documents);
    return this.corpus.info;
  }

  /** A fresh model, with a tokenizer trained on the current corpus. */
  fresh(options: NewModelOptions): { model: GPT; tokenizer: Tokenizer } {
    const text = this.requireCorpus().documents.join('\n');
    const tokenizer = options.tokenizer === 'bpe' ? BpeTokenizer.train(text, options.vocabSize ?? 512) : CharTokenizer.fromText(text);
    return { model: GPT.init(configFromPreset(options.preset, tokenizer.vocabSize), options.seed ?? 1), tokenizer };
  }
}
