/**
 * Shared setup of the lesson learning tests: the tiny pretrained fixture, a world context, and sizes small
 * enough that the whole lessons-learning file stays around 3 minutes. Those tests run on tfjs's wasm
 * backend (setup-tf.ts).
 */
import {
  buildLessons,
  seriesOf,
  TINY_SIZES,
  worldLessonContext,
  type Lesson,
  type LessonContext,
  type LessonSizes,
  type RunRecord,
} from '../../src/lib/lessons';
import { loadPretrained } from './rlhf-stage-fixture';

export { useWasmBackend } from './setup-tf';

/** Test sizes for the tiny fixture (0.1M parameters, 64-token context): the app's TINY_SIZES, shortened. */
export const TEST_SIZES: LessonSizes = {
  ...TINY_SIZES,
  rewardSettings: { epochs: 3, rankings_per_batch: 4, learning_rate: 1e-3, seed: 1 },
  heldOutRankings: 16,
  proxyRankings: 16,
  rewardRankings: 16,
  iterations: { overOptimisation: 24, frontier: 8, alignmentTax: 4, winRate: 12 },
  evalEvery: 4,
  overOptimisationEvalEvery: 4,
};

export function tinyContext(labeler = 'dog-lover'): LessonContext {
  const { model, tokenizer } = loadPretrained();
  return worldLessonContext(model, tokenizer, { labeler, maxPromptTokens: 16, prompts: 64, heldOutPrompts: 48 });
}

/** Lesson `id` at `sizes`, keeping only the runs whose ids are listed (all when none are). */
export function tinyLesson(id: string, sizes: LessonSizes = TEST_SIZES, runIds?: string[]): Lesson {
  const lesson = buildLessons(sizes).find((l) => l.id === id);
  if (!lesson) throw new Error(`no lesson ${id}`);
  return runIds ? { ...lesson, runs: lesson.runs.filter((r) => runIds.includes(r.id)) } : lesson;
}

/** Readers of a lesson's run records by run id: its held-out gold series and KL values, and a list of numbers printed. */
export function recordReaders(records: RunRecord[]) {
  const run = (id: string) => records.find((r) => r.id === id)!;
  return {
    run,
    gold: (id: string) => seriesOf(run(id), 'objective/gold', 'eval'),
    kl: (id: string) => seriesOf(run(id), 'objective/kl', 'eval').values,
  };
}

export const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' ');
