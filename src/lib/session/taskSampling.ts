/**
 * Ranking tasks' completions: K responses to each of several prompts from one policy, sampled in one batch (two tasks
 * cost far less than twice one). It lets messages through every BREATHE_MS (a pause, a stored ranking); a running
 * stage's steps may then run a part, so a task sampled during an iteration may straddle one of its updates.
 */
import type { Tokenizer } from '../data/tokenizer';
import type { GPT } from '../model/gpt';
import { sample, SamplingStopped, stoppable } from '../model/sampler';
import { breather } from '../train/breather';
import type { StagePhase } from '../types';

export interface TaskSamplingOptions {
  temperature: number;
  maxNewTokens: number;
  seed: number;
  /** Stops the sampling (no completions) as soon as it is true. */
  stop?: () => boolean;
  /** The sampling's progress, as a phase named 'tasks'. */
  report?: (phase: StagePhase) => void;
}

/** k decoded completions for each prompt, in the prompts' order; null when `stop()` stopped it. */
export async function sampleCompletions(
  policy: { model: GPT; tokenizer: Tokenizer },
  prompts: string[],
  k: number,
  options: TaskSamplingOptions,
): Promise<string[][] | null> {
  const { model, tokenizer } = policy;
  const promptTokens = prompts.map((p) => tokenizer.encode(p));
  const longest = Math.max(...promptTokens.map((t) => t.length));
  const breathe = breather();
  const tasks = `${prompts.length} ranking task${prompts.length === 1 ? '' : 's'}`;
  const sampled = await stoppable(
    sample(
      model,
      promptTokens.flatMap((t) => new Array<number[]>(k).fill(t)),
      {
        maxNewTokens: Math.min(options.maxNewTokens, model.config.blockSize - longest),
        temperature: options.temperature,
        topK: 0,
        seed: options.seed,
        eosId: tokenizer.eosId,
        onToken: async (done, total) => {
          options.report?.({ name: 'tasks', label: `${tasks}: token ${done}/${total}`, done, total });
          await breathe();
          if (options.stop?.()) throw new SamplingStopped();
        },
      },
    ),
  );
  if (!sampled) return null;
  return prompts.map((_, i) => sampled.completions.slice(i * k, (i + 1) * k).map((c) => tokenizer.decode(c)));
}
