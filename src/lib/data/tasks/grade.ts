/**
 * Grades a response to a task of any family (families.ts): correct or not, and, for the closed-domain families, the
 * made-up facts: the characters, animals, objects and places the response names that its input story does not
 * (InstructGPT's "hallucination" on closed-domain tasks, 41 % for GPT-3 against 21 % for InstructGPT).
 */
import { analyzeText } from '../analyze';
import { instructionOf } from '../instructionFollowing';
import { responseOf } from '../world';
import { FAMILY_BY_ID, readInstruction, TASK_FAMILIES, type TaskFamily } from './families';

export interface TaskGrade {
  family: TaskFamily;
  closedDomain: boolean;
  correct: boolean;
  /** Named in the response, absent from the input (closed-domain families only; [] otherwise). */
  madeUp: string[];
}

/** Entities of `response` that `input` never names. */
export function madeUpFacts(input: string, response: string): string[] {
  const known = analyzeText(input);
  const told = analyzeText(response);
  const inInput = new Set([...known.characters, ...known.animals, ...known.objects, ...known.places]);
  return [...told.characters, ...told.animals, ...told.objects, ...told.places].filter((name) => !inInput.has(name));
}

/** The grade of `response` to the formatted (or bare) `prompt`; null when no family writes such a prompt. */
export function gradeResponse(prompt: string, response: string): TaskGrade | null {
  const instruction = instructionOf(prompt);
  const reading = readInstruction(instruction);
  if (!reading) return null;
  const family = FAMILY_BY_ID[reading.family];
  const answer = responseOf(response);
  return {
    family: reading.family,
    closedDomain: family.closedDomain,
    correct: family.correct(reading, answer, instruction),
    madeUp: family.closedDomain ? madeUpFacts(reading.story!, answer) : [],
  };
}

export interface TaskSummary {
  /** Closed-domain responses with at least one made-up fact, of all closed-domain responses graded. */
  madeUp: { count: number; total: number; rate: number };
  /** Correct responses of each family, of those graded; rate NaN for a family with none. */
  byFamily: Record<TaskFamily, { correct: number; total: number; rate: number }>;
  grades: (TaskGrade | null)[];
}

export function summariseGrades(pairs: { prompt: string; response: string }[]): TaskSummary {
  const byFamily = Object.fromEntries(TASK_FAMILIES.map((id) => [id, { correct: 0, total: 0, rate: NaN }])) as TaskSummary['byFamily'];
  const madeUp = { count: 0, total: 0, rate: NaN };
  const grades = pairs.map(({ prompt, response }) => gradeResponse(prompt, response));
  for (const grade of grades) {
    if (!grade) continue;
    const tally = byFamily[grade.family];
    tally.total++;
    if (grade.correct) tally.correct++;
    if (grade.closedDomain) {
      madeUp.total++;
      if (grade.madeUp.length > 0) madeUp.count++;
    }
  }
  for (const tally of Object.values(byFamily)) tally.rate = tally.total ? tally.correct / tally.total : NaN;
  madeUp.rate = madeUp.total ? madeUp.count / madeUp.total : NaN;
  return { madeUp, byFamily, grades };
}
