/**
 * The seven lessons of issue #11 (0: SFT and instruction following, then six of RLHF): the paper's findings, one click each. Every lesson's runs are plain data
 * (types.ts); buildLessons(sizes) fills in the sizes (model- and backend-dependent budgets): TINY_SIZES for the
 * tiny preset, MINI_SIZES for the mini model on a GPU backend, MINI_CPU_SIZES for it on wasm or cpu (each lesson
 * within 3 minutes on the 2-core machine). LESSONS is the set at the tiny sizes. Tests use smaller sizes still.
 */
import { CONSTRAINT_KINDS } from '../data/instructionFollowing';
import { labelerById } from '../data/labelers';
import type { PpoSettings } from '../rlhf/ppo';
import type { RewardSettings } from '../rlhf/rewardTrainer';
import { argmax, movingAverage } from './stats';
import type { SftSettings } from '../rlhf/sft';
import type { Lesson, PpoRunSpec, RankingSpec, RewardModelRunSpec, RunRecord } from './types';

export interface LessonSizes {
  /** Lesson 0: SFT from the pretrained model, and its instruction-following measure. */
  sft: {
    settings: Partial<SftSettings>;
    followingPrompts: number;
    followingTokens: number;
    evalEvery: number;
  };
  /** Tokens per response, for rankings and rollouts. */
  responseLength: number;
  /** Lesson 1: ranking counts of the sweep; lesson 2: completions read (budgets). */
  rankingCounts: number[];
  completionBudgets: number[];
  heldOutRankings: number;
  rewardSettings: Partial<RewardSettings>;
  /** The proxy reward model of lessons 3 and 4 (few rankings, so that PPO can exploit it) and of lessons 5 and 6. */
  proxyRankings: number;
  rewardRankings: number;
  ppo: Partial<PpoSettings>;
  /** PPO iterations per run, per lesson. */
  iterations: { overOptimisation: number; frontier: number; alignmentTax: number; winRate: number };
  /** Lesson 3's learning rate (higher, so that beta = 0 over-optimises within the budget). */
  overOptimisationLr: number;
  /** Lesson 6's learning rate. */
  winRateLr: number;
  ptxCoef: number;
  evalEvery: number;
  /** Lesson 3 evaluates more often: gold on held-out prompts every this many iterations. */
  overOptimisationEvalEvery: number;
  heldOutGoldPrompts: number;
  heldOutLossBatches: number;
  winRatePrompts: number;
  /**
   * Lessons that run on the shipped tiny model (public/checkpoints/tiny.safetensors) at TINY_SIZES instead of on the
   * current model, because their finding does not show on the current model within about 3 minutes at these sizes.
   */
  onTinyModel?: string[];
  /**
   * A labeler id per lesson that replaces the context's (lecture mode's or the default) in all its runs: one whose taste
   * shows within the iterations these sizes allow.
   */
  labelers?: Record<string, string>;
}

/**
 * For the tiny preset (0.1M parameters, 64-token context; the test fixture tests/fixtures/tiny-pretrained.safetensors):
 * the sizes whose findings the learning tests check (with fewer iterations there). On wasm a PPO iteration
 * of 8 rollouts takes about 1.5 s on a quiet 2-core machine (3 s with the machine shared), so each lesson
 * fits in about 3 minutes.
 */
export const TINY_SIZES: LessonSizes = {
  // the tiny model hardly learns to follow: 18 % -> 24 % after 128 steps of 16 at lr 1e-3 (scripts/sft-check.ts)
  sft: {
    settings: { demonstrations: 1024, epochs: 1, batch_size: 16, learning_rate: 1e-3 },
    followingPrompts: 32,
    followingTokens: 0,
    evalEvery: 16,
  },
  responseLength: 24,
  rankingCounts: [4, 10, 20, 40, 80],
  completionBudgets: [36, 72, 144],
  heldOutRankings: 24,
  rewardSettings: { epochs: 2, rankings_per_batch: 4, learning_rate: 1e-3, seed: 1 },
  // 16 rankings gave a proxy whose gold never rose with the default context's prompts (it did with the tests');
  // 64: held-out gold 0.40 -> 0.83 at iteration 9 -> 0.17 at 30 with beta = 0 (proxy -2.2 -> 1.6)
  proxyRankings: 64,
  rewardRankings: 16,
  ppo: { batch_size: 8, mini_batch_size: 8, num_ppo_epochs: 2, learning_rate: 5e-4, missing_eos_penalty: 0, seed: 3 },
  iterations: { overOptimisation: 30, frontier: 12, alignmentTax: 10, winRate: 16 },
  overOptimisationLr: 1e-3,
  winRateLr: 5e-4,
  ptxCoef: 1,
  evalEvery: 4,
  overOptimisationEvalEvery: 3,
  heldOutGoldPrompts: 32,
  heldOutLossBatches: 4,
  winRatePrompts: 48,
};

/**
 * For the shipped mini model (0.9M parameters, public/checkpoints/default.safetensors) on a GPU backend. Measured on
 * wasm in Node with the 2-core machine heavily shared: about 33 s per PPO iteration of 8 rollouts of 32 tokens (the
 * win-rate lesson, 24 iterations: 800 s), so on wasm or cpu the desk picks MINI_CPU_SIZES instead. These sizes are a
 * starting point for a GPU; only the win-rate lesson was run on mini at them.
 */
export const MINI_SIZES: LessonSizes = {
  ...TINY_SIZES,
  // 128 steps of 16 fresh demonstrations at lr 1e-3 (scripts/sft-check.ts, wasm in Node, 64 prompts, the 2,200-step
  // shipped model: 50 % -> 67 %, validation loss 0.436; SFT's defaults, 4 epochs of 512 at 3e-4: 50 % -> 56 %, 0.434),
  // measured every 32 steps
  sft: { settings: { demonstrations: 2048, epochs: 1, learning_rate: 1e-3 }, followingPrompts: 64, followingTokens: 0, evalEvery: 32 },
  responseLength: 32,
  heldOutRankings: 32,
  rewardSettings: { epochs: 2, rankings_per_batch: 4, learning_rate: 1e-3, seed: 1 },
  iterations: { overOptimisation: 24, frontier: 8, alignmentTax: 8, winRate: 12 },
  overOptimisationEvalEvery: 4,
};

/**
 * For the shipped mini model on a CPU backend (wasm or cpu; lessonDesk.ts picks them from the backend): MINI_SIZES cut
 * down so that each lesson fits in 3 minutes on the 2-core machine's wasm backend (measured in the browser: README).
 * Rollouts of 16 tokens, 8 per iteration and one PPO epoch: about 3-4 s per iteration on wasm in Node.
 * Tried on mini in Node (scripts/lessons-run.ts) and not kept:
 * - rankings (short-answers labeler, 4 -> 40 rankings): held-out accuracy 0.90, 0.87, 0.84, 0.88 (mini's features
 *   already order by length after 4 rankings: no climb), and 313 s;
 * - over-optimisation, 12 iterations per beta: at lr 1e-3 KL exploded (to 80-120) and the proxy never rose steadily,
 *   with dog-lover (reward model 54 % accurate) or short-answers; at 5e-4 (short-answers) gold was still rising at the end;
 *   24 tokens and 2 PPO epochs (6-8 s per iteration) did not make the proxy rise either;
 * - win-rate with dog-lover: gold did not move in 8 iterations (a dog rarely shows in 16 tokens), 41 %.
 * So rankings, k-way and over-optimisation run on the shipped tiny model at TINY_SIZES (onTinyModel; the UI says so),
 * and win-rate uses the short-answers labeler (69 % after 8 iterations in Node).
 */
export const MINI_CPU_SIZES: LessonSizes = {
  ...MINI_SIZES,
  // MINI_SIZES' SFT cut to 52 steps (about 2.4 s each in the browser on wasm), measured on 32 prompts every 13 steps;
  // at the default lr 3e-4, 48 steps moved following only 24 % -> 33 % (143 s; on the earlier 1,200-step shipped model)
  sft: {
    settings: { demonstrations: 832, epochs: 1, learning_rate: 1e-3 },
    followingPrompts: 32,
    followingTokens: 0,
    evalEvery: 13,
  },
  responseLength: 16,
  heldOutRankings: 16,
  proxyRankings: 32,
  rewardRankings: 16,
  ppo: { ...MINI_SIZES.ppo, batch_size: 8, mini_batch_size: 8, num_ppo_epochs: 1 },
  iterations: { overOptimisation: 12, frontier: 6, alignmentTax: 8, winRate: 12 },
  evalEvery: 2,
  overOptimisationEvalEvery: 2,
  heldOutGoldPrompts: 16,
  heldOutLossBatches: 2,
  winRatePrompts: 32,
  onTinyModel: ['rankings', 'k-way', 'over-optimisation'],
  labelers: { 'win-rate': 'short-answers' },
};

/**
 * The smallest sizes that still go through every lesson's code (the browser tests, on a software GPU):
 * one or two steps per run, a handful of rankings, rollouts and prompts. Their findings mean nothing.
 */
export const QUICK_SIZES: LessonSizes = {
  ...TINY_SIZES,
  sft: {
    settings: { demonstrations: 8, epochs: 1, batch_size: 4, val_demonstrations: 4 },
    followingPrompts: 4,
    followingTokens: 8,
    evalEvery: 1,
  },
  responseLength: 8,
  rankingCounts: [2, 4],
  completionBudgets: [18],
  heldOutRankings: 4,
  rewardSettings: { epochs: 1, rankings_per_batch: 4, learning_rate: 1e-3, seed: 1 },
  proxyRankings: 4,
  rewardRankings: 4,
  ppo: { ...TINY_SIZES.ppo, batch_size: 2, mini_batch_size: 2, num_ppo_epochs: 1 },
  iterations: { overOptimisation: 1, frontier: 1, alignmentTax: 1, winRate: 1 },
  evalEvery: 1,
  overOptimisationEvalEvery: 1,
  heldOutGoldPrompts: 2,
  heldOutLossBatches: 1,
  winRatePrompts: 4,
};

/** Lesson sizes by name: for a model preset ('small' gets mini's), mini's on a CPU backend, or 'quick' (tests). */
export function sizesFor(preset: 'tiny' | 'mini' | 'mini-cpu' | 'small' | 'quick'): LessonSizes {
  switch (preset) {
    case 'quick':
      return QUICK_SIZES;
    case 'tiny':
      return TINY_SIZES;
    case 'mini-cpu':
      return MINI_CPU_SIZES;
    default:
      return MINI_SIZES;
  }
}

const rankings = (sizes: LessonSizes, k: number, agreement: number, seed: number, source: RankingSpec['source']): RankingSpec => ({
  source,
  k,
  agreement,
  responseLength: sizes.responseLength,
  temperature: 1,
  seed,
});

// ---- reading series ----

/** (step, value) of every point of `record` that has `metric`. */
export function seriesOf(record: RunRecord | undefined, metric: string): { steps: number[]; values: number[] } {
  const points = (record?.series ?? []).filter((p) => Number.isFinite(p.values[metric]));
  return { steps: points.map((p) => p.step), values: points.map((p) => p.values[metric]) };
}

function last(record: RunRecord | undefined, metric: string): number {
  const { values } = seriesOf(record, metric);
  return values.length ? values[values.length - 1] : NaN;
}

const pct = (x: number) => `${Math.round(100 * x)} %`;
const f2 = (x: number) => x.toFixed(2);
const started = (r: RunRecord | undefined): r is RunRecord => !!r && r.series.length > 0;

/** Window of the moving average that the over-optimisation lesson reads the gold and proxy curves through. */
export const SMOOTHING = 5;

/**
 * Where the gold score of a PPO run peaked, and how the run ended. Gold is read from the held-out
 * evaluations ('gold/held_out': fixed prompts and sampling seed, the SFT model at step 0) when the run has
 * at least three, else from the rollouts through a moving average; proxy and sqrt(KL) from the rollouts
 * through a moving average of SMOOTHING iterations.
 */
export function goldPeak(record: RunRecord): {
  peakStep: number;
  peakGold: number;
  peakSqrtKl: number;
  startGold: number;
  endGold: number;
  endSqrtKl: number;
  proxyStart: number;
  proxyEnd: number;
  proxyMax: number;
  fallShare: number;
  source: 'held-out' | 'rollouts';
} {
  const heldOut = seriesOf(record, 'gold/held_out');
  const rollouts = seriesOf(record, 'gold');
  const useHeldOut = heldOut.values.length >= 3;
  const gold = useHeldOut ? heldOut : { steps: rollouts.steps, values: movingAverage(rollouts.values, SMOOTHING) };
  const proxy = movingAverage(seriesOf(record, 'proxy').values, SMOOTHING);
  const kl = seriesOf(record, 'sqrt_kl');
  const klSmooth = movingAverage(kl.values, SMOOTHING);
  const klAt = (step: number) =>
    step <= 0
      ? 0
      : klSmooth[
          Math.max(
            0,
            kl.steps.findIndex((s) => s >= step),
          )
        ];
  const i = argmax(gold.values);
  const n = gold.values.length - 1;
  const startGold = useHeldOut
    ? gold.values[0]
    : rollouts.values.slice(0, SMOOTHING).reduce((s, x) => s + x, 0) / Math.min(SMOOTHING, rollouts.values.length);
  const gain = gold.values[i] - startGold;
  return {
    peakStep: gold.steps[i],
    peakGold: gold.values[i],
    peakSqrtKl: klAt(gold.steps[i]),
    startGold,
    endGold: gold.values[n],
    endSqrtKl: klAt(gold.steps[n]),
    proxyStart: proxy[0],
    proxyEnd: proxy[proxy.length - 1],
    proxyMax: Math.max(...proxy),
    fallShare: gain > 0 ? (gold.values[i] - gold.values[n]) / gain : 0,
    source: useHeldOut ? 'held-out' : 'rollouts',
  };
}

// ---- the lessons ----

export function buildLessons(sizes: LessonSizes): Lesson[] {
  const rs = sizes.rewardSettings;
  const proxyRun = (rankingCount: number, seed: number): RewardModelRunSpec => ({
    kind: 'reward-model',
    id: 'reward-model',
    label: `reward model (${rankingCount} rankings of 4)`,
    rankings: rankings(sizes, 4, 1, seed, 'policy'),
    count: rankingCount,
    heldOutRankings: sizes.heldOutRankings,
    reward: rs,
    produces: 'rm',
  });
  const ppoRun = (
    id: string,
    label: string,
    iterations: number,
    ppo: Partial<PpoSettings>,
    extra: Partial<PpoRunSpec> = {},
  ): PpoRunSpec => ({
    kind: 'ppo',
    id,
    label,
    reward: 'rm',
    evalEvery: sizes.evalEvery,
    ppo: { ...sizes.ppo, response_length: sizes.responseLength, ptx_coef: 0, iterations, ...ppo },
    ...extra,
  });

  const instructionFollowing: Lesson = {
    id: 'instruction-following',
    title: 'SFT teaches the model to follow instructions',
    base: 'pretrained',
    explanation:
      'The pretrained model has read stories and instructions, but it keeps to an instruction only now and then. SFT trains a copy of it ' +
      'on demonstrations: instructions answered by stories that do what they ask. Before the first step and every ' +
      `${sizes.sft.evalEvery} steps, the model answers ${sizes.sft.followingPrompts} held-out instructions; watch the share of ` +
      'the characters, animals, objects, place, mood, ending and length they name that its responses honour, and compare ' +
      'the responses before SFT with the latest.',
    paperFinding:
      'InstructGPT starts from GPT-3 fine-tuned on about 13k labeler demonstrations (16 epochs): the SFT model already follows ' +
      'instructions and explicit constraints far better than GPT-3, and labelers prefer it to GPT-3 even with a few-shot ' +
      'prompt (Figures 1 and 3); RLHF then improves on the SFT model.',
    runs: [
      {
        kind: 'sft',
        id: 'sft',
        label: 'SFT from the pretrained model',
        sft: sizes.sft.settings,
        followingPrompts: sizes.sft.followingPrompts,
        followingTokens: sizes.sft.followingTokens,
        evalEvery: sizes.sft.evalEvery,
      },
    ],
    charts: [
      {
        id: 'following',
        title: 'Instruction following on held-out instructions',
        x: 'step',
        xLabel: 'SFT step',
        y: ['instruction_following', 'following/character', 'following/animal', 'following/place'],
        yLabel: 'share honoured',
      },
      { id: 'loss', title: 'Response loss', x: 'step', xLabel: 'SFT step', y: ['loss', 'val_loss'], yLabel: 'nats per token' },
    ],
    summarise(runs) {
      const r = runs.find((x) => x.kind === 'sft' && started(x));
      const share = seriesOf(r, 'instruction_following');
      if (!r || share.values.length < 2) return 'Not run yet.';
      const n = share.values.length - 1;
      const kinds = CONSTRAINT_KINDS.map((k) => ({ k, v: seriesOf(r, `following/${k}`).values }))
        .filter(({ v }) => v.length > n)
        .map(({ k, v }) => `${k} ${pct(v[0])} → ${pct(v[n])}`);
      return (
        `Instruction following went from ${pct(share.values[0])} (the pretrained model) to ${pct(share.values[n])} after ` +
        `${share.steps[n]} SFT steps (${kinds.join(', ')}), on ${r.spec.kind === 'sft' ? r.spec.followingPrompts : ''} ` +
        `held-out instructions; the validation loss went ${f2(seriesOf(r, 'val_loss').values[0])} → ${f2(last(r, 'val_loss'))}.`
      );
    },
  };

  const rewardFromRankings: Lesson = {
    id: 'rankings',
    title: 'A reward model learns from rankings',
    explanation:
      'Each run trains fresh reward models on more and more rankings (4 completions each) by the simulated labeler who likes ' +
      'short answers, and ' +
      'measures how often they order held-out pairs as the labeler does. Compare a labeler who always agrees with its own ' +
      "taste (100 %) with one as consistent as the paper's labelers (73 %): watch accuracy climb with rankings, and the " +
      "noisy labeler's curve flatten below its own agreement.",
    paperFinding:
      "InstructGPT's reward models reach about 72 % accuracy at predicting held-out labelers' preferences, about as often as " +
      'labelers agree with each other (72.6 ± 1.5 %); more comparisons help, but labeler disagreement caps what can be learnt.',
    runs: [1, 0.73].map((agreement) => ({
      kind: 'reward-sweep' as const,
      id: `agreement-${Math.round(agreement * 100)}`,
      label: `labeler agreement ${pct(agreement)}`,
      rankings: rankings(sizes, 4, agreement, 11, 'demonstrations'),
      rankingCounts: sizes.rankingCounts,
      heldOutRankings: sizes.heldOutRankings,
      heldOutK: 4,
      reward: rs,
      labeler: 'short-answers',
    })),
    charts: [
      {
        id: 'accuracy',
        title: 'Held-out pair accuracy vs rankings',
        x: 'rankings',
        xLabel: 'rankings',
        y: ['accuracy/labeler', 'accuracy/gold', 'labeler/agreement'],
        yLabel: 'pair accuracy',
      },
    ],
    summarise(runs) {
      const parts = runs.filter(started).map((r) => {
        const lab = seriesOf(r, 'accuracy/labeler');
        const gold = seriesOf(r, 'accuracy/gold');
        const n = seriesOf(r, 'rankings').values;
        return (
          `${r.label}: held-out accuracy ${lab.values.map(f2).join(' → ')} against the labeler's rankings ` +
          `(${gold.values.map(f2).join(' → ')} against its true taste) for ${n.join(', ')} rankings; ` +
          `the labeler itself agrees with its taste on ${pct(last(r, 'labeler/agreement'))} of those pairs`
        );
      });
      return parts.length ? parts.join('; ') + '.' : 'Not run yet.';
    },
  };

  const kWay: Lesson = {
    id: 'k-way',
    title: 'K-way rankings are cheaper',
    explanation:
      'The labeler reads the same number of completions in each run, but ranks them 2, 4 or 9 at a time. A ranking of K ' +
      'completions yields K(K-1)/2 comparisons, so more K gives more comparisons per completion read. Compare the held-out ' +
      'accuracy at equal reading effort.',
    paperFinding:
      'InstructGPT had labelers rank 4 to 9 completions per prompt: K(K-1)/2 comparisons for the cost of reading K, and ' +
      'training on all comparisons of a prompt in one batch avoids the overfitting of shuffled pairs.',
    runs: [2, 4, 9].map((k) => ({
      kind: 'reward-sweep' as const,
      id: `k-${k}`,
      label: `K = ${k}`,
      labeler: 'short-answers',
      rankings: rankings(sizes, k, 1, 21, 'demonstrations'),
      rankingCounts: sizes.completionBudgets.map((b) => Math.max(1, Math.round(b / k))),
      heldOutRankings: sizes.heldOutRankings,
      heldOutK: 4,
      reward: { ...rs, rankings_per_batch: Math.max(1, Math.round(16 / k)) },
    })),
    charts: [
      {
        id: 'accuracy',
        title: 'Held-out pair accuracy vs completions read',
        x: 'completions_read',
        xLabel: 'completions read',
        y: ['accuracy/gold'],
        yLabel: 'pair accuracy',
      },
    ],
    summarise(runs) {
      const done = runs.filter(started);
      if (!done.length) return 'Not run yet.';
      // the last budget that every run has reached (budgets are the same for every K)
      const i = Math.min(...done.map((r) => seriesOf(r, 'completions_read').values.length)) - 1;
      const budget = seriesOf(done[0], 'completions_read').values[i];
      const at = done.map(
        (r) => `${r.label} ${f2(seriesOf(r, 'accuracy/gold').values[i])} (${seriesOf(r, 'pairs').values[i]} comparisons)`,
      );
      return `Held-out pair accuracy after reading about ${budget} completions: ${at.join(', ')}.`;
    },
  };

  const betas = [0, 0.05];
  const overOptimisation: Lesson = {
    id: 'over-optimisation',
    title: 'Over-optimising the reward model',
    explanation:
      `A reward model trained on only ${sizes.proxyRankings} rankings is an imperfect proxy for the labeler. PPO maximises the proxy; ` +
      "the labeler's gold score tells how good the text really is. Plot both against sqrt(KL) from the SFT model: without a KL " +
      'penalty (beta = 0) the proxy keeps rising while gold peaks and falls; beta = 0.05 holds the policy near the SFT model. ' +
      'Compare the samples at the gold peak with those at the end.',
    paperFinding:
      'Gao et al. (2022): gold reward first rises, then falls as the policy moves away from the initial model (measured by ' +
      'sqrt(KL)), while the proxy reward keeps rising. InstructGPT keeps a per-token KL penalty (beta = 0.02) for this reason.',
    runs: [
      proxyRun(sizes.proxyRankings, 31),
      ...betas.map((beta) =>
        ppoRun(
          `beta-${beta}`,
          `PPO, beta = ${beta}`,
          sizes.iterations.overOptimisation,
          { kl_coef: beta, learning_rate: sizes.overOptimisationLr },
          { keepSamples: true, heldOutGoldPrompts: sizes.heldOutGoldPrompts, evalEvery: sizes.overOptimisationEvalEvery },
        ),
      ),
    ],
    charts: [
      {
        id: 'gold-vs-kl',
        title: 'Proxy and gold score vs sqrt(KL)',
        x: 'sqrt_kl',
        xLabel: 'sqrt(KL) from SFT',
        y: ['proxy', 'gold'],
        yLabel: 'score',
      },
      {
        id: 'gold-vs-step',
        title: 'Proxy and gold score over iterations',
        x: 'step',
        xLabel: 'PPO iteration',
        y: ['proxy', 'gold', 'gold/held_out'],
        yLabel: 'score',
      },
    ],
    summarise(runs) {
      const parts = runs
        .filter((r) => r.kind === 'ppo' && started(r))
        .map((r) => {
          const p = goldPeak(r);
          if (p.peakStep === 0 || !(p.peakGold > p.startGold)) {
            return (
              `${r.label}: gold never rose above the SFT model's ${f2(p.startGold)} (the reward model is a poor proxy here); ` +
              `it ended at ${f2(p.endGold)} by sqrt KL ${f2(p.endSqrtKl)}, while the proxy went ${f2(p.proxyStart)} → ${f2(p.proxyEnd)}`
            );
          }
          return (
            `${r.label}: gold peaked at iteration ${p.peakStep} (sqrt KL ${f2(p.peakSqrtKl)}, gold ${f2(p.peakGold)}), then ` +
            (p.fallShare > 0 ? `fell ${pct(p.fallShare)} of its gain to ${f2(p.endGold)}` : `stayed at ${f2(p.endGold)}`) +
            ` by sqrt KL ${f2(p.endSqrtKl)}, while the proxy went ${f2(p.proxyStart)} → ${f2(p.proxyEnd)}`
          );
        });
      return parts.length
        ? parts.join('; ') + ' (gold on held-out prompts; proxy and KL as moving averages over 5 iterations).'
        : 'Not run yet.';
    },
  };

  const frontierBetas = [0, 0.01, 0.05, 0.2];
  const frontier: Lesson = {
    id: 'kl-frontier',
    title: 'The KL-reward frontier',
    explanation:
      'The same proxy reward model, four PPO runs with KL coefficients beta = 0, 0.01, 0.05 and 0.2. Each run is one point: ' +
      'its final KL from the SFT model against its final gold score. Larger beta buys closeness to the SFT model with reward.',
    paperFinding:
      'The KL penalty trades reward against staying near the SFT model (InstructGPT: beta = 0.02); raising beta alone does not ' +
      'remove the alignment tax (Figure 34), and too little lets the policy exploit the reward model (Gao et al. 2022).',
    runs: [
      proxyRun(sizes.proxyRankings, 31),
      ...frontierBetas.map((beta) => ppoRun(`beta-${beta}`, `beta = ${beta}`, sizes.iterations.frontier, { kl_coef: beta })),
    ],
    charts: [
      {
        id: 'frontier',
        title: 'Final gold vs final KL, one point per beta',
        x: 'kl',
        xLabel: 'KL from SFT (end)',
        y: ['gold'],
        yLabel: 'gold score (end)',
        style: 'points',
      },
    ],
    summarise(runs) {
      const ppo = runs.filter((r) => r.kind === 'ppo' && started(r));
      if (!ppo.length) return 'Not run yet.';
      return (
        'At the end (moving average over 5 iterations): ' +
        ppo
          .map((r) => {
            const kl = movingAverage(seriesOf(r, 'kl').values, SMOOTHING);
            const gold = movingAverage(seriesOf(r, 'gold').values, SMOOTHING);
            return `${r.label}: KL ${f2(kl[kl.length - 1])}, gold ${f2(gold[gold.length - 1])}`;
          })
          .join('; ') +
        '.'
      );
    },
  };

  const alignmentTax: Lesson = {
    id: 'alignment-tax',
    title: 'The alignment tax and PPO-ptx',
    explanation:
      'PPO optimises the reward model and forgets some of its pretraining: its loss on held-out pretraining text rises. ' +
      'PPO-ptx mixes pretraining gradients into every update. Compare the held-out pretraining loss and the gold score of both.',
    paperFinding:
      'Plain PPO regresses on public NLP benchmarks (the "alignment tax"); PPO-ptx, mixing in the pretraining objective, ' +
      'largely recovers them while keeping labeler preference (InstructGPT §4.2, Figures 28-29, 33).',
    runs: [
      proxyRun(sizes.rewardRankings, 31),
      ...[0, sizes.ptxCoef].map((ptx) =>
        ppoRun(
          ptx ? 'ppo-ptx' : 'ppo',
          ptx ? `PPO-ptx (ptx_coef ${ptx})` : 'PPO',
          sizes.iterations.alignmentTax,
          { kl_coef: 0.02, ptx_coef: ptx },
          { heldOutLossBatches: sizes.heldOutLossBatches },
        ),
      ),
    ],
    charts: [
      {
        id: 'pretrain-loss',
        title: 'Held-out pretraining loss',
        x: 'step',
        xLabel: 'PPO iteration',
        y: ['pretrain_loss/held_out'],
        yLabel: 'loss (nats/token)',
      },
      { id: 'gold', title: 'Gold score', x: 'step', xLabel: 'PPO iteration', y: ['gold'], yLabel: 'gold score' },
    ],
    summarise(runs) {
      const ppo = runs.filter((r) => r.kind === 'ppo' && started(r));
      if (!ppo.length) return 'Not run yet.';
      return (
        ppo
          .map((r) => {
            const loss = seriesOf(r, 'pretrain_loss/held_out').values;
            const gold = movingAverage(seriesOf(r, 'gold').values, SMOOTHING);
            return `${r.label}: held-out pretraining loss ${f2(loss[0])} → ${f2(loss[loss.length - 1])}, gold ${f2(gold[gold.length - 1])} at the end`;
          })
          .join('; ') + '.'
      );
    },
  };

  const winRate: Lesson = {
    id: 'win-rate',
    title: 'Win rate against the SFT model',
    explanation:
      "PPO optimises the labeler's own score (a perfect reward model). Every few iterations the labeler compares the policy's " +
      "and the SFT model's responses to the same held-out prompts " +
      '(ties count half). The win rate starts at 50 % and should climb; the band is the 95 % Wilson interval.',
    paperFinding:
      'Labelers prefer 175B InstructGPT to 175B SFT-only models and to GPT-3 (85 ± 3 % against GPT-3); even 1.3B InstructGPT ' +
      'beats 175B GPT-3 (Figure 1).',
    // The labeler's own score is the reward here (a perfect reward model): a reward model trained on the few
    // rankings a lesson can afford raises the mean gold for a while but loses most pairwise comparisons
    // (measured on the tiny model: win rate 0.32 / 0.38 / 0.23 after 4 / 8 / 12 iterations); lessons 3 and 4
    // show what an imperfect reward model does.
    runs: [
      ppoRun(
        'ppo',
        'PPO',
        sizes.iterations.winRate,
        { kl_coef: 0.02, learning_rate: sizes.winRateLr },
        { reward: 'gold', winRatePrompts: sizes.winRatePrompts },
      ),
    ],
    charts: [
      {
        id: 'win-rate',
        title: 'Win rate against SFT (95 % interval)',
        x: 'step',
        xLabel: 'PPO iteration',
        y: ['win_rate', 'win_rate/low', 'win_rate/high'],
        yLabel: 'win rate',
      },
    ],
    summarise(runs) {
      const r = runs.find((x) => x.kind === 'ppo' && started(x));
      const rate = seriesOf(r, 'win_rate');
      if (!r || rate.values.length < 2) return 'Not run yet.';
      const n = rate.values.length - 1;
      return (
        `After ${rate.steps[n]} PPO iterations the policy wins ${pct(rate.values[n])} of ${r.spec.kind === 'ppo' ? r.spec.winRatePrompts : ''} held-out ` +
        `comparisons against the SFT model (95 % interval ${pct(last(r, 'win_rate/low'))}–${pct(last(r, 'win_rate/high'))}); ` +
        `best along the way ${pct(Math.max(...rate.values))}.`
      );
    },
  };

  return [instructionFollowing, rewardFromRankings, kWay, overOptimisation, frontier, alignmentTax, winRate].map((l) =>
    withLabeler(l, sizes.labelers?.[l.id]),
  );
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
