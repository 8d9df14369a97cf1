/** A lesson context from the built-in world: prompts, held-out prompts and pretraining text (train and held-out). */
import { encodeDocuments } from '../data/corpus';
import { labelerById, type Labeler } from '../data/labelers';
import type { Tokenizer } from '../data/tokenizer';
import { generateCorpus, generatePrompts } from '../data/world';
import type { GPT } from '../model/gpt';
import type { LessonContext } from './types';

export interface WorldContextOptions {
  labeler?: Labeler | string;
  /** Prompts for rollouts and rankings, and held-out ones (default 128 and 64). */
  prompts?: number;
  heldOutPrompts?: number;
  /** Longest prompt in tokens (default: a quarter of the context), so that rows stay short. */
  maxPromptTokens?: number;
  /** Pretraining documents for PPO-ptx and held-out ones (default 300 and 100). */
  pretrainDocuments?: number;
  heldOutDocuments?: number;
  seed?: number;
}

/** Prompts of at most maxTokens tokens from the world's prompt stream `seed`. */
export function shortWorldPrompts(tokenizer: Tokenizer, seed: number, count: number, maxTokens: number): string[] {
  const out: string[] = [];
  for (let round = 1; out.length < count && round <= 8; round++) {
    out.length = 0;
    out.push(
      ...generatePrompts(seed, 4 * round * count)
        .filter((p) => tokenizer.encode(p).length <= maxTokens)
        .slice(0, count),
    );
  }
  if (out.length === 0) throw new Error(`no world prompt fits in ${maxTokens} tokens`);
  return out;
}

export function worldLessonContext(policy: GPT, tokenizer: Tokenizer, opts: WorldContextOptions = {}): LessonContext {
  const seed = opts.seed ?? 31;
  const maxTokens = opts.maxPromptTokens ?? Math.floor(policy.config.blockSize / 4);
  const labeler = typeof opts.labeler === 'string' ? labelerById(opts.labeler) : (opts.labeler ?? labelerById('dog-lover'));
  const text = (s: number, documents: number) => generateCorpus({ seed: s, documents }).map((d) => d.text);
  return {
    policy,
    tokenizer,
    labeler,
    prompts: shortWorldPrompts(tokenizer, seed, opts.prompts ?? 128, maxTokens),
    heldOutPrompts: shortWorldPrompts(tokenizer, seed + 1, opts.heldOutPrompts ?? 64, maxTokens),
    pretrainTokens: encodeDocuments(tokenizer, text(seed + 19, opts.pretrainDocuments ?? 300)),
    heldOutPretrainTokens: encodeDocuments(tokenizer, text(seed + 20, opts.heldOutDocuments ?? 100)),
  };
}
