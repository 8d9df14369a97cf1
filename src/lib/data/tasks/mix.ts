/**
 * The prompt mix: the share of each task family in prompts and demonstrations. TASK_MIX is the paper's Table 1 scaled
 * to what the small world can express: open QA, chat and "other" (24.4 % of the paper's prompts) have no counterpart
 * here, so the seven families' shares are renormalised to sum to 1. A mix can be set per family (mixFrom).
 */
import { formatPrompt, generateCorpus } from '../world';
import { Rng } from '../rng';
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

function drawFamily(rng: Rng, mix: TaskMix): TaskFamily {
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
