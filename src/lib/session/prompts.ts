/**
 * The playground's prompts for rollouts and ranking tasks: PROMPT_COUNT prompts drawn from the task mix that a stage's
 * settings declare (SFT's task_mix: the paper's Table 1 by default), those that leave the policy's context room to
 * answer. Drawn anew when the mix or the context changes.
 */
import { generateTasks, mixOfSetting, TASK_MIX_SETTING } from '../data/tasks/mix';
import type { Tokenizer } from '../data/tokenizer';
import type { SettingValues } from '../settings';
import type { StageInfo, StageName } from '../types';

/** Prompts for PPO rollouts and for ranking tasks. */
export const PROMPT_COUNT = 500;
/** A prompt is kept when it leaves at least this many tokens of the context for the answer. */
export const ANSWER_ROOM = 16;
/** The stream the prompts come from, whatever the mix. */
const PROMPT_SEED = 7;

export class PromptPool {
  private key = '';
  private tokenizer: Tokenizer | null = null;
  private prompts: string[] = [];

  /** The prompts of `mix` (a task_mix setting's text) that fit a context of `blockSize` tokens of `tokenizer`. */
  of(mix: string, tokenizer: Tokenizer, blockSize: number): string[] {
    const key = `${mix}|${blockSize}`;
    if (key === this.key && tokenizer === this.tokenizer) return this.prompts;
    const fits = (p: string) => tokenizer.encode(p).length <= blockSize - ANSWER_ROOM;
    let fitting: string[] = [];
    // more are drawn when the mix's prompts are long for this context; a mix none of whose prompts fit says so
    for (let draws = PROMPT_COUNT; fitting.length < PROMPT_COUNT && draws <= 4 * PROMPT_COUNT; draws *= 2)
      fitting = generateTasks(PROMPT_SEED, draws, mixOfSetting(mix))
        .map((t) => t.prompt)
        .filter(fits)
        .slice(0, PROMPT_COUNT);
    if (fitting.length === 0)
      throw new Error(
        `No prompt of this task mix fits the model's context of ${blockSize} tokens with room for an answer: set the task mix (SFT) to families with shorter prompts (generation, brainstorming), or use a model with a longer context.`,
      );
    [this.key, this.tokenizer, this.prompts] = [key, tokenizer, fitting];
    return fitting;
  }
}

/** The task mix in use: the setting the stage that declares one holds (its text), else the setting's default. */
export function mixInUse(
  stages: readonly Pick<StageInfo, 'name' | 'promptMix'>[],
  settings: Readonly<Record<StageName, SettingValues>>,
): string {
  const d = stages.find((s) => s.promptMix);
  const text = d ? settings[d.name]?.[d.promptMix!] : undefined;
  return typeof text === 'string' ? text : TASK_MIX_SETTING.default;
}
