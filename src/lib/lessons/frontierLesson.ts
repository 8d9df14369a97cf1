/**
 * The lesson "the frontier" (issue #23): on the same labeler rankings and the same reward model, best-of-n, PPO-ptx, DPO
 * and GRPO, each measured alike (held-out gold and KL from the SFT model of its responses to the same held-out prompts,
 * the same sampling seed; best-of-n's KL is its closed form), drawn as gold against sqrt(KL) with Gao et al.'s fitted
 * forms through each method's points. Its text, runs, chart and summary; lessons.ts lists it.
 */
import { M } from './metrics';
import type { LessonSizes } from './sizes';
import { summariseMethodFrontier } from './summaries';
import type { RunBuilders } from './lessons';
import type { Evaluation, Lesson, LessonRunSpec } from './types';

/** The rankings the reward model and DPO share (K = 4, noiseless), and PPO-ptx's beta (InstructGPT's). */
const FRONTIER = { k: 4, seed: 51, ppoBeta: 0.02 } as const;

/** The method runs, in the chart's order, with the fitted form of each (Gao et al. 2022). */
export const FRONTIER_METHODS = [
  { run: 'best-of-n', form: 'best-of-n' },
  { run: 'ppo-ptx', form: 'rl' },
  { run: 'dpo', form: 'rl' },
  { run: 'grpo', form: 'rl' },
] as const;

export function frontierLesson(sizes: LessonSizes, { proxy, ppo }: Pick<RunBuilders, 'proxy' | 'ppo'>): Lesson {
  const f = sizes.methodFrontier;
  const sampling = { prompts: f.prompts, responseLength: sizes.responseLength, temperature: 1, seed: Number(sizes.ppo.seed) };
  const goldAndKl: Evaluation[] = [
    { kind: 'held-out-gold', ...sampling },
    { kind: 'kl-from-sft', ...sampling },
  ];
  const rankings = {
    source: 'policy' as const,
    k: FRONTIER.k,
    agreement: 1,
    responseLength: sizes.responseLength,
    temperature: 1,
    seed: FRONTIER.seed,
    count: f.rankings,
  };
  const runs: LessonRunSpec[] = [
    { ...proxy(f.rankings), evaluations: [], rankings },
    {
      id: 'best-of-n',
      label: `best-of-n (n = 1 … ${f.bestOfN.n_max})`,
      stage: 'best_of_n',
      // the held-out prompts the others are measured on; its own figures at each n are its evaluation (KL: the closed form)
      settings: { ...f.bestOfN, prompts: f.prompts, response_length: sizes.responseLength, temperature: 1, seed: sampling.seed },
      reward: 'rm',
      evaluations: [],
      evalEvery: 1,
    },
    ppo(
      'ppo-ptx',
      `PPO-ptx (ptx_coef ${sizes.ptxCoef})`,
      f.ppoIterations,
      { kl_coef: FRONTIER.ppoBeta, ptx_coef: sizes.ptxCoef },
      {
        evaluations: goldAndKl,
        evalEvery: f.evalEvery.ppo,
      },
    ),
    {
      id: 'dpo',
      label: 'DPO',
      stage: 'dpo',
      settings: { ...f.dpo, held_out_share: 0, response_length: sizes.responseLength, temperature: 1 },
      rankings,
      evaluations: goldAndKl,
      evalEvery: f.evalEvery.dpo,
    },
    {
      id: 'grpo',
      label: 'GRPO',
      stage: 'grpo',
      settings: { ...f.grpo, response_length: sizes.responseLength, temperature: 1, reward: 'learned' },
      reward: 'rm',
      evaluations: goldAndKl,
      evalEvery: f.evalEvery.grpo,
    },
  ];
  return {
    id: 'method-frontier',
    title: 'The frontier: gold per unit of KL, method by method',
    explanation:
      `The labeler ranks ${f.rankings} sets of ${FRONTIER.k} responses of the SFT model once; a reward model learns from them, ` +
      'and four methods spend it. Best-of-n keeps the best of n SFT samples by the reward model, for n = 1, 2, 4, …; PPO-ptx and ' +
      'GRPO optimise the reward model’s score; DPO learns from the same rankings directly. Each is measured alike: the ' +
      `labeler’s gold score of its responses to the same ${f.prompts} held-out prompts against sqrt(KL from the SFT model), ` +
      'one point per evaluation (for best-of-n per n, its KL the closed form log n − (n − 1)/n, an upper bound). The dashed ' +
      'curves are Gao et al.’s forms fitted through each method’s points. Which climbs highest for the KL it spends, and where ' +
      'does the gold turn down while the reward model’s score still climbs?',
    paperFinding:
      'Gao et al. (2022): against d = sqrt(KL), gold rises and then falls as the proxy is over-optimised, as d(α − βd) for ' +
      'best-of-n and d(α − β log d) for RL, and RL travels much further in KL than best-of-n for the gold it reaches. ' +
      'Rafailov et al. (2023) found DPO’s reward-KL frontier above PPO’s; GRPO (Shao et al. 2024) drops the value model.',
    runs,
    charts: [
      {
        id: 'gold-vs-kl',
        title: 'Held-out gold vs sqrt(KL from SFT), with Gao et al.’s fits (dashed)',
        xLabel: 'sqrt(KL from SFT)',
        yLabel: 'gold score (held-out)',
        series: [{ key: M.gold, label: 'gold', kind: 'eval' }],
        x: M.kl,
        xScale: 'sqrt',
        runs: FRONTIER_METHODS.map((m) => m.run),
        fits: FRONTIER_METHODS.map((m) => ({ ...m })),
      },
    ],
    summarise: (records) => summariseMethodFrontier(records, f.prompts),
  };
}
