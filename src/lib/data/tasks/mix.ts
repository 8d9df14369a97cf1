/**
 * The prompt mix: the share of each task family in prompts and demonstrations. TASK_MIX is the paper's Table 1 scaled
 * to what the small world can express: open QA, chat and "other" (24.4 % of the paper's prompts) have no counterpart
 * here, so the seven families' shares are renormalised to sum to 1. A mix can be set per family (mixFrom).
 */
import { formatPrompt, generateCorpus } from '../world';
import { Rng } from '../rng';
import { formatShares, shares, sharesOf } from '../../settings';
import { FAMILIES, FAMILY_BY_ID, TASK_FAMILIES, type TaskFamily } from './families';

export type TaskMix = Record<TaskFamily, number>;

export interface Task {
  family: TaskFamily;
  /** The formatted prompt ("Instruction: ...\nResponse:"). */
  prompt: string;
  /** The demonstration; it starts with a space. */
  response: string;
}

const paperTotal = FAMILIES.reduce((sum, f) => sum + f.paperShare, 0);
export const TASK_MIX: Readonly<TaskMix> = Object.fromEntries(
  TASK_FAMILIES.map((id) => [id, FAMILY_BY_ID[id].paperShare / paperTotal]),
) as TaskMix;

/** A mix from per-family weights (any scale; families left out weigh 0); a clear error for weights that cannot be one. */
export function mixFrom(weights: Partial<Record<string, number>>): TaskMix {
  for (const [family, weight] of Object.entries(weights)) {
    if (!(TASK_FAMILIES as readonly string[]).includes(family))
      throw new Error(`Unknown task family "${family}"; known: ${TASK_FAMILIES.join(', ')}.`);
    if (!(typeof weight === 'number' && Number.isFinite(weight) && weight >= 0))
      throw new Error(`The weight of ${family} must be a number >= 0, got ${String(weight)}.`);
  }
  const total = TASK_FAMILIES.reduce((sum, id) => sum + (weights[id] ?? 0), 0);
  if (total <= 0) throw new Error('A task mix needs at least one family with a weight above 0.');
  return Object.fromEntries(TASK_FAMILIES.map((id) => [id, (weights[id] ?? 0) / total])) as TaskMix;
}

/**
 * The mix as a setting (SFT's demonstrations, the ranking tasks' and rollouts' prompts): a weight per family, by
 * default the paper's Table 1 percentages, which TASK_MIX renormalises; in the address e.g. `sft.task_mix=closed_qa:1`.
 */
export const TASK_MIX_SETTING = shares(
  'task_mix',
  'Task mix',
  TASK_FAMILIES.map((id) => ({ id, label: FAMILY_BY_ID[id].title, note: FAMILY_BY_ID[id].make(new Rng(3)).instruction })),
  Object.fromEntries(TASK_FAMILIES.map((id) => [id, FAMILY_BY_ID[id].paperShare])) as TaskMix,
  "The share of each task family in SFT's demonstrations and in the prompts of ranking tasks and rollouts: a weight per family (any scale; 0 leaves it out). The default is the InstructGPT paper's Table 1 over the families this world can express.",
);

/** The mix a task_mix setting's text declares; throws a message for text that is not one. */
export function mixOfSetting(text: string): TaskMix {
  return sharesOf(TASK_MIX_SETTING, text) as TaskMix;
}

/** Only generation, the world's stories: the prompts and demonstrations from before there were families (lessons pin it). */
export const STORIES_ONLY = formatShares(TASK_MIX_SETTING.parts, { generation: 1 });

/**
 * `n` tasks of the mix from the stream of `seed`: each family drawn with its share, then its prompt and demonstration;
 * input stories of at most `storyChars` characters (default: the families' STORY_CHARS, for a 128-token context).
 */
export function generateTasks(seed: number, n: number, mix: TaskMix = TASK_MIX, storyChars?: number): Task[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const family = drawFamily(rng, mix);
    const { instruction, response } = FAMILY_BY_ID[family].make(rng, storyChars);
    return { family, prompt: formatPrompt(instruction), response };
  });
}

/** A family drawn with its share; a mix of one family draws nothing (so generation alone is the stories' own stream). */
function drawFamily(rng: Rng, mix: TaskMix): TaskFamily {
  const weighed = TASK_FAMILIES.filter((id) => mix[id] > 0);
  if (weighed.length === 1) return weighed[0];
  let r = rng.next();
  for (const id of TASK_FAMILIES) {
    if (r < mix[id]) return id;
    r -= mix[id];
  }
  // rounding left r just above the last share: the last family with any weight
  return [...TASK_FAMILIES].reverse().find((id) => mix[id] > 0)!;
}

/** The world's pretraining corpus with `taskShare` of its documents task texts (prompt + demonstration) of `mix`, shuffled. */
export function generateMixedCorpus(opts: { seed: number; documents: number; taskShare: number; mix?: TaskMix }): string[] {
  const taskCount = Math.round(opts.documents * opts.taskShare);
  const world = generateCorpus({ seed: opts.seed, documents: opts.documents - taskCount }).map((d) => d.text);
  const tasks = generateTasks(opts.seed + 1, taskCount, opts.mix).map((t) => t.prompt + t.response);
  return new Rng(opts.seed + 2).shuffle([...world, ...tasks]);
}
