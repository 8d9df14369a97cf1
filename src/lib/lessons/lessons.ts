/**
 * Builds the seven lessons of issue #11, the DPO lesson of issue #21, issue 23's lessons (frontierLesson.ts,
 * verifiableLesson.ts) and issue 24's (madeUpFactsLesson.ts) from their text (text.ts) and the sizes
 * (sizes.ts): each run is a stage of the registry with its settings and evaluations, each chart names the metrics the
 * runs record (metrics.ts), each summary reads them (summaries.ts). LESSONS is the set at the tiny sizes. Tests use
 * smaller sizes still.
 */
import { labelerById } from '../data/labelers';
import { STORIES_ONLY } from '../data/tasks/mix';
import type { SettingValues } from '../settings';
import type { ChartSpec } from '../types';
import { frontierLesson } from './frontierLesson';
import { madeUpFactsLesson } from './madeUpFactsLesson';
import { followingOf, M } from './metrics';
import { TINY_SIZES, type LessonSizes } from './sizes';
import * as S from './summaries';
import { CONSTANTS, LESSON_TEXT, type LessonId } from './text';
import type { Evaluation, Lesson, LessonRunSpec, RankingSpec } from './types';
import { verifiableLesson } from './verifiableLesson';

const rankings = (sizes: LessonSizes, k: number, agreement: number, seed: number, source: RankingSpec['source']): RankingSpec => ({
  source,
  k,
  agreement,
  responseLength: sizes.responseLength,
  temperature: 1,
  seed,
});

/** A line chart of the runs' `kind` points of metrics against the step (or `x`). */
function chart(
  id: string,
  title: string,
  xLabel: string,
  yLabel: string,
  series: [key: string, label: string, kind: 'train' | 'eval'][],
  more: Partial<ChartSpec> = {},
): ChartSpec {
  return { id, title, xLabel, yLabel, series: series.map(([key, label, kind]) => ({ key, label, kind })), ...more };
}

/** The runs that every lesson builds from the sizes: reward models, sweeps and PPO runs. */
export type RunBuilders = ReturnType<typeof runBuilders>;
function runBuilders(sizes: LessonSizes) {
  const rs = { ...sizes.rewardSettings, held_out_share: 0 };
  const proxy = (count: number): LessonRunSpec => ({
    id: 'reward-model',
    label: `reward model (${count} rankings of ${CONSTANTS.proxy.k})`,
    stage: 'reward',
    settings: rs,
    rankings: { ...rankings(sizes, CONSTANTS.proxy.k, 1, CONSTANTS.proxy.seed, 'policy'), count },
    evaluations: [{ kind: 'ranking-accuracy', rankings: sizes.heldOutRankings, k: CONSTANTS.proxy.k }],
    evalEvery: 0,
    produces: 'rm',
  });
  const sweep = (
    id: string,
    label: string,
    spec: RankingSpec,
    counts: number[],
    settings: SettingValues,
    heldOutK: number,
    labeler: string,
  ): LessonRunSpec => ({
    id,
    label,
    stage: 'reward',
    settings,
    rankings: { ...spec, count: Math.max(...counts) },
    sweep: counts,
    evaluations: [{ kind: 'ranking-accuracy', rankings: sizes.heldOutRankings, k: heldOutK }],
    evalEvery: 0,
    labeler,
  });
  const ppo = (
    id: string,
    label: string,
    iterations: number,
    settings: SettingValues,
    more: Partial<LessonRunSpec> = {},
  ): LessonRunSpec => ({
    id,
    label,
    stage: 'ppo',
    settings: { ...sizes.ppo, response_length: sizes.responseLength, ptx_coef: 0, iterations, ...settings },
    reward: 'rm',
    evaluations: [],
    evalEvery: sizes.evalEvery,
    ...more,
  });
  return { rs, proxy, sweep, ppo };
}

export function buildLessons(sizes: LessonSizes): Lesson[] {
  const { rs, proxy, sweep, ppo } = runBuilders(sizes);
  const text = (id: LessonId) => ({
    id,
    title: LESSON_TEXT[id].title,
    explanation: LESSON_TEXT[id].explanation(sizes),
    paperFinding: LESSON_TEXT[id].paperFinding,
  });
  const heldOutGold: Evaluation = { kind: 'held-out-gold', prompts: sizes.heldOutGoldPrompts };
  const { overOptimisation, frontier, alignmentTax, winRate, rankings: rk, kWay, dpo } = CONSTANTS;
  // the DPO lesson measures both methods alike: the same held-out prompts, sampling seed and tokens, KL from SFT on those samples
  const sameSampling = { prompts: sizes.dpo.prompts, responseLength: sizes.responseLength, temperature: 1, seed: Number(sizes.ppo.seed) };
  const goldAndKl: Evaluation[] = [
    { kind: 'held-out-gold', ...sameSampling },
    { kind: 'kl-from-sft', ...sameSampling },
  ];
  const dpoRankings = { ...rankings(sizes, dpo.k, 1, dpo.seed, 'policy'), count: sizes.dpo.rankings };

  const lessons: Lesson[] = [
    {
      ...text('instruction-following'),
      base: 'pretrained',
      runs: [
        {
          id: 'sft',
          label: 'SFT from the pretrained model',
          stage: 'sft',
          // the stories alone: the lesson measures following on them, as it did before the task mix
          settings: { ...sizes.sft.settings, instruction_prompts: 0, task_mix: STORIES_ONLY },
          evaluations: [{ kind: 'instruction-following', prompts: sizes.sft.followingPrompts, tokens: sizes.sft.followingTokens }],
          evalEvery: sizes.sft.evalEvery,
        },
      ],
      charts: [
        chart('following', 'Instruction following on held-out instructions', 'SFT step', 'share honoured', [
          [M.following, 'all named', 'eval'],
          ...(['character', 'animal', 'place'] as const).map((k): [string, string, 'eval'] => [followingOf(k), k, 'eval']),
        ]),
        chart('loss', 'Response loss', 'SFT step', 'nats per token', [
          [M.sftLoss, 'train', 'train'],
          [M.sftValLoss, 'validation', 'eval'],
        ]),
      ],
      summarise: (runs) => S.summariseFollowing(runs, sizes.sft.followingPrompts),
    },
    {
      ...text('rankings'),
      runs: rk.agreements.map((agreement) =>
        sweep(
          `agreement-${Math.round(agreement * 100)}`,
          `labeler agreement ${Math.round(agreement * 100)} %`,
          rankings(sizes, rk.k, agreement, rk.seed, 'demonstrations'),
          sizes.rankingCounts,
          rs,
          rk.k,
          rk.labeler,
        ),
      ),
      charts: [
        chart(
          'accuracy',
          'Held-out pair accuracy vs rankings',
          'rankings',
          'pair accuracy',
          [
            [M.pairAccuracy, "labeler's rankings", 'eval'],
            [M.goldPairAccuracy, 'gold order', 'eval'],
            [M.labelerAgreement, 'labeler agreement', 'eval'],
          ],
          { x: M.rankings },
        ),
      ],
      summarise: S.summariseRankings,
    },
    {
      ...text('k-way'),
      runs: kWay.ks.map((k) =>
        sweep(
          `k-${k}`,
          `K = ${k}`,
          rankings(sizes, k, 1, kWay.seed, 'demonstrations'),
          sizes.completionBudgets.map((b) => Math.max(1, Math.round(b / k))),
          { ...rs, rankings_per_batch: Math.max(1, Math.round(kWay.batchCompletions / k)) },
          kWay.heldOutK,
          kWay.labeler,
        ),
      ),
      charts: [
        chart(
          'accuracy',
          'Held-out pair accuracy vs completions read',
          'completions read',
          'pair accuracy',
          [[M.goldPairAccuracy, 'gold order', 'eval']],
          {
            x: M.completionsRead,
          },
        ),
      ],
      summarise: S.summariseKWay,
    },
    {
      ...text('over-optimisation'),
      runs: [
        proxy(sizes.proxyRankings),
        ...overOptimisation.betas.map((beta) =>
          ppo(
            `beta-${beta}`,
            `PPO, beta = ${beta}`,
            sizes.iterations.overOptimisation,
            { kl_coef: beta, learning_rate: sizes.overOptimisationLr },
            { keepSamples: true, evaluations: [heldOutGold], evalEvery: sizes.overOptimisationEvalEvery },
          ),
        ),
      ],
      charts: [
        chart(
          'gold-vs-kl',
          'Proxy and gold score vs sqrt(KL)',
          'sqrt(KL) from SFT',
          'score',
          [
            [M.scores, 'proxy', 'train'],
            [M.gold, 'gold', 'train'],
          ],
          { x: M.kl, xScale: 'sqrt' },
        ),
        chart('gold-vs-step', 'Proxy and gold score over iterations', 'PPO iteration', 'score', [
          [M.scores, 'proxy', 'train'],
          [M.gold, 'gold', 'train'],
          [M.gold, 'gold (held-out)', 'eval'],
        ]),
      ],
      summarise: S.summariseOverOptimisation,
    },
    {
      ...text('kl-frontier'),
      runs: [
        proxy(sizes.proxyRankings),
        ...frontier.betas.map((beta) => ppo(`beta-${beta}`, `beta = ${beta}`, sizes.iterations.frontier, { kl_coef: beta })),
      ],
      charts: [
        chart(
          'frontier',
          'Final gold vs final KL, one point per beta',
          'KL from SFT (end)',
          'gold score (end)',
          [[M.gold, 'gold', 'train']],
          {
            x: M.kl,
            style: 'points',
          },
        ),
      ],
      summarise: S.summariseFrontier,
    },
    {
      ...text('alignment-tax'),
      runs: [
        proxy(sizes.rewardRankings),
        ...[0, sizes.ptxCoef].map((ptx) =>
          ppo(
            ptx ? 'ppo-ptx' : 'ppo',
            ptx ? `PPO-ptx (ptx_coef ${ptx})` : 'PPO',
            sizes.iterations.alignmentTax,
            { kl_coef: alignmentTax.beta, ptx_coef: ptx },
            { evaluations: [{ kind: 'pretrain-loss', batches: sizes.heldOutLossBatches }] },
          ),
        ),
      ],
      charts: [
        chart('pretrain-loss', 'Held-out pretraining loss', 'PPO iteration', 'loss (nats/token)', [
          [M.pretrainValLoss, 'held-out', 'eval'],
        ]),
        chart('gold', 'Gold score', 'PPO iteration', 'gold score', [[M.gold, 'gold', 'train']]),
      ],
      summarise: S.summariseAlignmentTax,
    },
    {
      ...text('win-rate'),
      // The labeler's own score is the reward here (a perfect reward model): a reward model trained on the few
      // rankings a lesson can afford raises the mean gold for a while but loses most pairwise comparisons
      // (measured on the tiny model: win rate 0.32 / 0.38 / 0.23 after 4 / 8 / 12 iterations); lessons 3 and 4
      // show what an imperfect reward model does.
      runs: [
        ppo(
          'ppo',
          'PPO',
          sizes.iterations.winRate,
          { kl_coef: winRate.beta, learning_rate: sizes.winRateLr },
          { reward: 'gold', evaluations: [{ kind: 'win-rate', prompts: sizes.winRatePrompts }] },
        ),
      ],
      charts: [
        chart('win-rate', 'Win rate against SFT (95 % interval)', 'PPO iteration', 'win rate', [
          [M.winRate, 'win rate', 'eval'],
          [M.winRateLow, 'low', 'eval'],
          [M.winRateHigh, 'high', 'eval'],
        ]),
      ],
      summarise: (runs) => S.summariseWinRate(runs, sizes.winRatePrompts),
    },
    {
      ...text('dpo'),
      runs: [
        {
          id: 'dpo',
          label: 'DPO',
          stage: 'dpo',
          // every ranking trains (as the reward model's); its own held-out accuracy is the reward lessons' subject
          settings: { ...sizes.dpo.settings, held_out_share: 0, response_length: sizes.responseLength, temperature: 1 },
          rankings: dpoRankings,
          evaluations: goldAndKl,
          evalEvery: sizes.dpo.evalEvery,
        },
        {
          ...proxy(sizes.dpo.rankings),
          evaluations: [],
          rankings: dpoRankings,
        },
        ppo(
          'ppo-ptx',
          `reward model + PPO-ptx (ptx_coef ${sizes.ptxCoef})`,
          sizes.dpo.ppoIterations,
          {
            kl_coef: dpo.ppoBeta,
            ptx_coef: sizes.ptxCoef,
          },
          { evaluations: goldAndKl },
        ),
      ],
      charts: [
        chart(
          'gold-vs-kl',
          'Held-out gold vs KL from SFT, one point per evaluation',
          'KL from SFT (held-out responses)',
          'gold score (held-out)',
          [[M.gold, 'gold', 'eval']],
          { x: M.kl, runs: ['dpo', 'ppo-ptx'] },
        ),
        chart(
          'gold-vs-time',
          'Held-out gold vs seconds of training (the reward model counted in PPO-ptx)',
          'seconds of training',
          'gold score (held-out)',
          [[M.gold, 'gold', 'eval']],
          { x: M.trainingSeconds, runs: ['dpo', 'ppo-ptx'] },
        ),
      ],
      summarise: (runs) => S.summariseDpo(runs, sizes.dpo.rankings, sizes.dpo.prompts),
    },
    verifiableLesson(sizes, { proxy, chart }),
    frontierLesson(sizes, { proxy, ppo }),
    madeUpFactsLesson(sizes),
  ];
  return lessons.map((l) => withLabeler(l, sizes.labelers?.[l.id]));
}

/** Lesson `lesson` with labeler `id` in every run, and the explanation saying so. */
function withLabeler(lesson: Lesson, id: string | undefined): Lesson {
  if (!id) return lesson;
  return {
    ...lesson,
    explanation: `${lesson.explanation} At these sizes the simulated labeler is "${labelerById(id).name}", whose taste PPO finds within the few iterations they allow.`,
    runs: lesson.runs.map((r) => ({ ...r, labeler: id })),
  };
}

/** The lessons at the tiny preset's sizes (the ones the learning tests check); buildLessons(MINI_SIZES) for mini. */
export const LESSONS: Lesson[] = buildLessons(TINY_SIZES);
export const LESSONS_BY_ID: Record<string, Lesson> = Object.fromEntries(LESSONS.map((l) => [l.id, l]));
