/**
 * A lesson context from the built-in world: prompts, held-out prompts and pretraining text (train and held-out); or from
 * its task families (tasksLessonContext): closed-domain task prompts and demonstrations of the task mix.
 */
import { encodeDocuments } from '../data/corpus';
import { labelerById, type Labeler } from '../data/labelers';
import { FAMILIES } from '../data/tasks/families';
import { generateTasks, mixFrom, TASK_MIX } from '../data/tasks/mix';
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

const labelerOf = (labeler: WorldContextOptions['labeler']) =>
  typeof labeler === 'string' ? labelerById(labeler) : (labeler ?? labelerById('dog-lover'));

export function worldLessonContext(policy: GPT, tokenizer: Tokenizer, opts: WorldContextOptions = {}): LessonContext {
  const seed = opts.seed ?? 31;
  const maxTokens = opts.maxPromptTokens ?? Math.floor(policy.config.blockSize / 4);
  const labeler = labelerOf(opts.labeler);
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

export interface TaskContextOptions {
  labeler?: Labeler | string;
  /** Input stories of at most this many characters (the families' default fits a 128-token context). */
  storyChars?: number;
  /** Closed-domain prompts for rankings and held-out ones; demonstrations of TASK_MIX for SFT. */
  prompts: number;
  heldOutPrompts: number;
  demonstrations: number;
  /** Room each prompt leaves for its response, in tokens: longer prompts are skipped. */
  responseTokens: number;
  seed?: number;
}

/** The closed-domain families, weighed alike: the prompts the made-up-fact rate is measured on. */
const CLOSED_DOMAIN = mixFrom(Object.fromEntries(FAMILIES.filter((f) => f.closedDomain).map((f) => [f.id, 1])));

/** `count` closed-domain task prompts of the stream `seed`, each at most `fits` tokens long. */
function closedDomainPrompts(tokenizer: Tokenizer, seed: number, count: number, fits: number, storyChars?: number): string[] {
  const prompts = generateTasks(seed, 4 * count, CLOSED_DOMAIN, storyChars)
    .map((t) => t.prompt)
    .filter((p) => tokenizer.encode(p).length <= fits);
  if (prompts.length < count) throw new Error(`only ${prompts.length} of ${4 * count} task prompts fit in ${fits} tokens`);
  return prompts.slice(0, count);
}

/**
 * The task families' context: closed-domain prompts for the labeler's rankings and held-out ones (other streams), SFT
 * demonstrations of TASK_MIX, and a little world text for the stages that need pretraining tokens.
 */
export function tasksLessonContext(policy: GPT, tokenizer: Tokenizer, opts: TaskContextOptions): LessonContext {
  const seed = opts.seed ?? 41;
  const fits = policy.config.blockSize - opts.responseTokens;
  const text = (s: number) => generateCorpus({ seed: s, documents: 60 }).map((d) => d.text);
  return {
    policy,
    tokenizer,
    labeler: labelerOf(opts.labeler),
    prompts: closedDomainPrompts(tokenizer, seed, opts.prompts, fits, opts.storyChars),
    heldOutPrompts: closedDomainPrompts(tokenizer, seed + 1, opts.heldOutPrompts, fits, opts.storyChars),
    demonstrations: generateTasks(seed + 2, opts.demonstrations, TASK_MIX, opts.storyChars).map(({ prompt, response }) => ({
      prompt,
      response,
    })),
    pretrainTokens: encodeDocuments(tokenizer, text(seed + 19)),
    heldOutPretrainTokens: encodeDocuments(tokenizer, text(seed + 20)),
  };
}
