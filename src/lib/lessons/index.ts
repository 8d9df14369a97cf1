/** The DOM-free lesson engine (issue #11): lessons as runs of the registry's stages, the runner, stats. */
export * from './types';
export { wilsonInterval, sqrtKl, movingAverage, argmax } from './stats';
export { buildLessons, LESSONS, LESSONS_BY_ID } from './lessons';
export { MINI_SIZES, MINI_CPU_SIZES, QUICK_SIZES, TINY_SIZES, sizesFor, type LessonSizes } from './sizes';
export { goldPeak, SMOOTHING } from './summaries';
export { M as LESSON_METRICS, followingOf } from './metrics';
export { seriesOf, type RunRecord, type SampleSet } from '../runs/record';
export { LessonRunner } from './runner';
export { klFromReference, labelerRankings, judgePairs, sampleResponsesOf } from './data';
export { worldLessonContext, shortWorldPrompts, tasksLessonContext, type WorldContextOptions, type TaskContextOptions } from './context';
