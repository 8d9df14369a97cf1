/**
 * The lessons' made-up-facts evaluation: a policy's responses to held-out closed-domain prompts (a fixed seed), graded
 * by the task families' graders (data/tasks/grade.ts). Returns the share of responses that make up a fact with its
 * 95 % Wilson interval and each family's share correct, under the names of metrics.ts, and the graded responses.
 */
import { TASK_FAMILIES } from '../data/tasks/families';
import { summariseGrades, type TaskGrade } from '../data/tasks/grade';
import type { Tokenizer } from '../data/tokenizer';
import type { GPT } from '../model/gpt';
import { taskCorrectMetric } from '../rlhf/metrics';
import type { SampleSet } from '../runs/record';
import type { Metrics } from '../train/loop';
import { sampleResponsesOf } from './data';
import { M } from './metrics';
import { wilsonInterval } from './stats';

export interface MadeUpReport {
  values: Metrics;
  items: SampleSet['items'];
}

/** What a graded response shows: the facts it made up, else whether it is correct. */
function badgeOf(grade: TaskGrade | null): string {
  if (!grade) return 'not a task';
  if (grade.madeUp.length > 0) return `made up: ${grade.madeUp.join(', ')}`;
  return grade.correct ? 'correct, nothing made up' : 'wrong, nothing made up';
}

export async function measureMadeUpFacts(
  policy: GPT,
  tokenizer: Tokenizer,
  prompts: string[],
  sampling: { responseLength: number; temperature: number; seed: number },
): Promise<MadeUpReport> {
  const { texts } = await sampleResponsesOf(policy, tokenizer, prompts, sampling.responseLength, sampling.temperature, sampling.seed);
  const summary = summariseGrades(prompts.map((prompt, i) => ({ prompt, response: texts[i] })));
  const { count, total } = summary.madeUp;
  const w = wilsonInterval(count, total);
  const values: Metrics = { [M.madeUp]: w.share, [M.madeUpLow]: w.low, [M.madeUpHigh]: w.high, [M.closedDomain]: total };
  for (const family of TASK_FAMILIES) {
    const tally = summary.byFamily[family];
    if (tally.total > 0) values[taskCorrectMetric(family)] = tally.rate;
  }
  const items = prompts.map((prompt, i) => {
    const grade = summary.grades[i];
    return { prompt, response: texts[i], gold: grade && grade.madeUp.length === 0 ? 1 : 0, badge: badgeOf(grade) };
  });
  return { values, items };
}
