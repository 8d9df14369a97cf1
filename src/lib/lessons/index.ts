/** The DOM-free lesson engine (issue #11): descriptors, runner, stats. */
export * from './types';
export { wilsonInterval, sqrtKl, movingAverage, argmax } from './stats';
export {
  buildLessons,
  LESSONS,
  LESSONS_BY_ID,
  MINI_SIZES,
  MINI_CPU_SIZES,
  QUICK_SIZES,
  TINY_SIZES,
  sizesFor,
  seriesOf,
  goldPeak,
  SMOOTHING,
  type LessonSizes,
} from './lessons';
export { LessonRunner } from './runner';
export { labelerRankings, judgePairs, sampleTexts } from './data';
export { worldLessonContext, shortWorldPrompts, type WorldContextOptions } from './context';
