/**
 * Instruction following of a policy: sample a response to each of a fixed set of instruction prompts and
 * score the share of the instructions' named constraints it honours (data/instructionFollowing.ts).
 * SFT reports it as `instruction_following`; PPO can call the same function on its policy.
 */
import type { GPT } from '../model/gpt';
import { sample } from '../model/sampler';
import { constraintsOf, parseInstruction, summariseFollowing, type FollowingSummary } from '../data/instructionFollowing';
import type { Tokenizer } from '../data/tokenizer';
import { generatePrompts } from '../data/world';

export interface FollowingOptions {
  /** Longest response (default: as much as the context leaves after the longest prompt). */
  maxNewTokens?: number;
  /** Sampling temperature (default 1, as rollouts and ranking tasks sample; 0 = greedy). */
  temperature?: number;
  seed?: number;
  /** Prompts per sampling batch (default 16). */
  batch?: number;
}

export interface FollowingReport extends FollowingSummary {
  responses: string[];
}

/** The first `n` of `prompts` that name at least one constraint (the others cannot be followed or not). */
export function followingPrompts(prompts: string[], n: number): string[] {
  return prompts.filter((p) => constraintsOf(parseInstruction(p)).length > 0).slice(0, n);
}

/**
 * `n` held-out instructions that name something, from a prompt stream (seed 4242) the built-in demonstrations never
 * use: the set scripts/sft-check.ts and scripts/ship-sft.ts measure on, and the shipped SFT report quotes.
 */
export function heldOutFollowingPrompts(n: number): string[] {
  return followingPrompts(generatePrompts(4242, 4 * n), n);
}

/** Samples one response per prompt (fixed seed) and pools the share of named constraints honoured. */
export async function measureInstructionFollowing(
  model: GPT,
  tokenizer: Tokenizer,
  prompts: string[],
  opts: FollowingOptions = {},
): Promise<FollowingReport> {
  const responses = await sampleResponses(model, tokenizer, prompts, opts);
  return { ...summariseFollowing(prompts.map((prompt, i) => ({ prompt, response: responses[i] }))), responses };
}

/** One sampled response per prompt, in batches, each as long as the context leaves (or opts.maxNewTokens). */
export async function sampleResponses(model: GPT, tokenizer: Tokenizer, prompts: string[], opts: FollowingOptions = {}): Promise<string[]> {
  const { blockSize } = model.config;
  const batch = opts.batch ?? 16;
  const responses: string[] = [];
  for (let start = 0; start < prompts.length; start += batch) {
    const encoded = prompts.slice(start, start + batch).map((p) => tokenizer.encode(p).slice(-(blockSize - 8)));
    const room = blockSize - Math.max(...encoded.map((e) => e.length));
    const { completions } = await sample(model, encoded, {
      maxNewTokens: Math.min(opts.maxNewTokens ?? room, room),
      temperature: opts.temperature ?? 1,
      topK: 0,
      seed: (opts.seed ?? 1) + start,
      eosId: tokenizer.eosId,
    });
    responses.push(...completions.map((c) => tokenizer.decode(c.filter((t) => t !== tokenizer.eosId))));
  }
  return responses;
}
