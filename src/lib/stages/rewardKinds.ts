/**
 * The kinds of reward a policy-training stage (PPO-ptx, GRPO) maximises, chosen by its `reward` setting:
 *   learned                 the reward model trained on the person's rankings (it keeps learning from new ones);
 *   instruction_following   a program: the share of what the instruction named that the response honours
 *                           (data/instructionFollowing.ts; 0 for an instruction that names nothing, and for a prompt
 *                           of another task family than generation);
 *   gold                    the simulated labeler's own score (only while a labeler ranks: lecture mode);
 *   animal_named            a deliberately lax program: 1 if the response names the animal the instruction asked
 *                           for, else 0 (the lesson "a verifiable reward" shows what a policy makes of it);
 *   task_grader             a program: 1 if the grader of the prompt's task family (data/tasks) calls the response
 *                           correct and it makes up no fact, else 0 (0 for a prompt no family writes).
 * The verifiable kinds need no reward model. A lesson's run on the labeler's gold (ctx.rewardFunction) stands in
 * for the learned reward, as before there were kinds.
 */
import { instructionFollowing, namesRequestedAnimal } from '../data/instructionFollowing';
import { followsInstructions } from '../data/tasks/families';
import { gradeResponse } from '../data/tasks/grade';
import type { RewardModel } from '../rlhf/rewardModel';
import type { RewardStage } from '../rlhf/rewardTrainer';
import { choice } from '../settings';
import type { StageContext } from './descriptor';

export const REWARD_KINDS = ['learned', 'instruction_following', 'gold', 'animal_named', 'task_grader'] as const;
export type RewardKind = (typeof REWARD_KINDS)[number];

export const REWARD_SETTING = choice(
  'reward',
  'Reward',
  'learned',
  REWARD_KINDS,
  'learned: the reward model trained on your rankings. instruction_following: a program scores the share of what the instruction named (characters, animal, place, mood, ending, length) that the response honours. gold: the simulated labeler’s own score (a labeler must be on). animal_named: deliberately lax, 1 if the response names the animal the instruction asked for, else 0; it checks nothing else, so watch what the policy does to the rest of the instruction. task_grader: 1 if the grader of the task (closed QA, extraction, rewrite, …) calls the answer correct and it makes up no fact, else 0.',
);

/**
 * The verifiable instruction-following reward: honoured / named constraints of the prompt's instruction; 0 for another
 * task family's prompt (a closed-QA story names characters, but asks a question: task_grader grades those).
 */
export function instructionFollowingReward(prompt: string, response: string): number {
  if (!followsInstructions(prompt)) return 0;
  const score = instructionFollowing(prompt, response);
  return score.total > 0 ? score.share : 0;
}

/** The lax verifier: 1 if the response names the animal its instruction asked for, else 0 (also for an instruction with none, or another family's prompt). */
export function animalNamedReward(prompt: string, response: string): number {
  return followsInstructions(prompt) && namesRequestedAnimal(prompt, response) ? 1 : 0;
}

/** The task families' graders as a reward: 1 for a correct answer with no made-up fact, else 0. */
export function taskGraderReward(prompt: string, response: string): number {
  const grade = gradeResponse(prompt, response);
  return grade !== null && grade.correct && grade.madeUp.length === 0 ? 1 : 0;
}

/** Why a stage titled `title` cannot start on this kind of reward now, or null. */
export function rewardBlocker(ctx: StageContext, kind: RewardKind, title: string): string | null {
  if (kind === 'learned' && !ctx.rewardFunction && (!ctx.stageObject('reward') || ctx.stageState('reward') === 'running'))
    return `Train the reward model first: ${title} maximises its score.`;
  if (kind === 'gold' && !ctx.goldScorer)
    return `Turn on a simulated labeler first: ${title}'s reward is its gold score (or choose another reward).`;
  return null;
}

/** What the stage scores completions with: the reward model, or a program of prompt and response. */
export function rewardSource(
  ctx: StageContext,
  kind: RewardKind,
): { rewardModel?: RewardModel; rewardFunction?: (prompt: string, response: string) => number } {
  if (kind === 'instruction_following') return { rewardFunction: instructionFollowingReward };
  if (kind === 'animal_named') return { rewardFunction: animalNamedReward };
  if (kind === 'task_grader') return { rewardFunction: taskGraderReward };
  if (kind === 'gold') {
    const gold = ctx.goldScorer!;
    return { rewardFunction: (prompt, response) => gold(prompt + response) };
  }
  if (ctx.rewardFunction) return { rewardFunction: ctx.rewardFunction };
  return { rewardModel: (ctx.stageObject('reward') as RewardStage).rewardModel };
}
