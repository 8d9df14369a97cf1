/**
 * Sampling for the stages that train a policy (PPO-ptx, DPO, GRPO): a model's responses to prompts as text, the seed of
 * a step's sampling, the progress of a sampling that a pause may stop, and a step's responses sampled so.
 */
import type { GPT } from '../model/gpt';
import { SamplingStopped, stoppable, type SampleOptions } from '../model/sampler';
import type { Tokenizer } from '../data/tokenizer';
import type { PartSizer } from '../train/parts';
import type { StepControl } from '../train/pausable';
import type { PromptResponse } from './metrics';
import { writeResponses, type Responses, type RolloutShape } from './rollout';

/** `model`'s response to each prompt (prompts cut from the left to the shape's budget). */
export async function sampleResponses(
  model: GPT,
  tokenizer: Tokenizer,
  prompts: string[],
  shape: RolloutShape,
  opts: Parameters<typeof writeResponses>[4],
): Promise<PromptResponse[]> {
  const responses = await writeResponses(
    model,
    tokenizer,
    prompts.map((p) => tokenizer.encode(p)),
    shape,
    opts,
  );
  return prompts.map((prompt, i) => ({ prompt, response: responses.texts[i] }));
}

/** A different sampling seed for every step of a run with this seed. */
export function mixSeed(seed: number, step: number): number {
  return (Math.imul(seed + 1, 0x9e3779b1) ^ Math.imul(step + 1, 0x85ebca6b)) >>> 0;
}

/** A sampling phase's label in the unit of response_length: `sampling rollouts 12/48 tokens`. */
export const samplingLabel = (label: string, done: number, total: number): string => `${label} ${done}/${total} tokens`;

/**
 * With a phase listener: the sampler's onToken that reports `label t/T tokens` (response tokens written per response,
 * of the response length) each time t moves, lets messages through and stops the sampling (SamplingStopped, see
 * model/sampler.ts stoppable) when a pause was asked for.
 */
export function pausableSampling(control: StepControl<'sampling'>, label: string): SampleOptions['onToken'] {
  const onPhase = control.onPhase;
  let reported = -1;
  return (
    onPhase &&
    (async (done, total) => {
      if (done !== reported) onPhase({ name: 'sampling', label: samplingLabel(label, done, total), done, total });
      reported = done;
      await control.breathe();
      if (control.shouldStop()) throw new SamplingStopped();
    })
  );
}

/** How a step samples: at its seed mixed with its number, the prefill in parts (with a control in parts), its progress named `label`. */
export interface StepSampling {
  temperature: number;
  seed: number;
  step: number;
  control: StepControl<'sampling'>;
  prefill: PartSizer;
  label: string;
}

/** A step's responses to prompt tokens (PPO-ptx's rollouts, GRPO's groups); null when a pause stopped the sampling. */
export function stepResponses(
  model: GPT,
  tokenizer: Tokenizer,
  prompts: number[][],
  shape: RolloutShape,
  opts: StepSampling,
): Promise<Responses | null> {
  return stoppable(
    writeResponses(model, tokenizer, prompts, shape, {
      temperature: opts.temperature,
      seed: mixSeed(opts.seed, opts.step),
      prefillParts: opts.control.inParts ? opts.prefill : undefined,
      onToken: pausableSampling(opts.control, opts.label),
    }),
  );
}
