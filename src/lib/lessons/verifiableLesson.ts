/**
 * The lesson "a verifiable reward" (issue 23, item 5): GRPO from the SFT model three times, on the instruction-following
 * program, on a reward model learnt from a labeler who likes instructions followed, and on a deliberately lax verifier
 * (the asked animal named, nothing else checked). Measured alike: instruction following on held-out instructions (per
 * kind), pass@1 and pass@k. Its text, runs, charts and summary; lessons.ts appends it to the lessons.
 */
import { CONSTRAINT_KINDS, instructionOf, namesRequestedAnimal } from '../data/instructionFollowing';
import { seriesOf, type RunRecord } from '../runs/record';
import type { RewardKind } from '../stages/rewardKinds';
import type { ChartSpec } from '../types';
import { followingOf, M, passAt } from './metrics';
import type { LessonSizes } from './sizes';
import type { Evaluation, Lesson, LessonRunSpec } from './types';

/** The labeler whose rankings train the reward model (and whose gold the runs report). */
const LABELER = 'follows-instruction';
/** Run ids, in order. */
const RUN = { verifier: 'verifier', rewardModel: 'reward-model', learned: 'learned', lax: 'animal-named' } as const;
/** The kinds the lax run's chart shows beside the animal it is paid for. */
const OTHER_KINDS = ['character', 'place', 'mood'] as const;

const pct = (x: number) => `${Math.round(100 * x)} %`;
const points = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(Math.round(100 * x))} points`;

/** What the lesson borrows from lessons.ts (passed in: lessons.ts imports this file). */
export interface LessonBuilders {
  proxy(count: number): LessonRunSpec;
  chart(
    id: string,
    title: string,
    xLabel: string,
    yLabel: string,
    series: [key: string, label: string, kind: 'train' | 'eval'][],
    more?: Partial<ChartSpec>,
  ): ChartSpec;
}

export const VERIFIABLE_TEXT = {
  id: 'verifiable-reward',
  title: 'A verifiable reward',
  explanation: (sizes: LessonSizes) => {
    const v = sizes.verifiable;
    return (
      `Three GRPO runs from the SFT model, ${v.grpo.steps} steps each (${v.grpo.prompts_per_step} instructions, ` +
      `${v.grpo.group_size} responses to each). The first is rewarded by a program, the share of what the instruction ` +
      'named (characters, animal, place, mood, ending, length) that the response honours; the second by a reward model ' +
      `trained on ${v.rankings} rankings by a labeler who likes instructions followed; the third by a deliberately lax ` +
      'verifier that pays 1 when the response names the animal asked for, whatever else it does. Every ' +
      `${v.evalEvery} steps each answers ${v.followingPrompts} held-out instructions (instruction following, per kind), ` +
      `and ${v.k} times each of ${v.passPrompts} others: pass@1 is the chance that one response honours everything asked, ` +
      `pass@${v.k} that one of ${v.k} does. Watch pass@1 move more than pass@${v.k}, and what the lax run does to the rest ` +
      'of the instruction.'
    );
  },
  paperFinding:
    'DeepSeekMath (Shao et al. 2024) trains with GRPO on rewards that check answers and finds that RL raises Maj@K ' +
    'but not Pass@K: it makes the right answers the model could already give more likely, rather than teaching new ones. ' +
    'Yue et al. (2025, "Does reinforcement learning really incentivize reasoning capacity in LLMs beyond the base model?") ' +
    'find RL with verifiable rewards raises pass@1 while pass@k for large k barely moves, and the base model overtakes it ' +
    'at large enough k. A verifier checks only what it checks: a policy optimised on a lax one is paid for what it checks, ' +
    'and nothing holds up the rest.',
};

function withPromptedRankings(spec: LessonRunSpec): LessonRunSpec {
  return { ...spec, rankings: { ...spec.rankings!, prompted: true } };
}

export function verifiableLesson(sizes: LessonSizes, { proxy, chart }: LessonBuilders): Lesson {
  const v = sizes.verifiable;
  const evaluations: Evaluation[] = [
    { kind: 'instruction-following', prompts: v.followingPrompts, tokens: v.tokens },
    { kind: 'pass-at-k', prompts: v.passPrompts, k: v.k, tokens: v.tokens },
  ];
  const grpo = (id: string, label: string, reward: RewardKind, more: Partial<LessonRunSpec> = {}): LessonRunSpec => ({
    id,
    label,
    stage: 'grpo',
    settings: { ...v.grpo, reward },
    evaluations,
    evalEvery: v.evalEvery,
    labeler: LABELER,
    ...more,
  });
  const grpoRuns = [RUN.verifier, RUN.learned, RUN.lax];
  return {
    id: VERIFIABLE_TEXT.id,
    title: VERIFIABLE_TEXT.title,
    explanation: VERIFIABLE_TEXT.explanation(sizes),
    paperFinding: VERIFIABLE_TEXT.paperFinding,
    runs: [
      grpo(RUN.verifier, 'GRPO, the instruction-following program', 'instruction_following'),
      // the labeler reads each response after its instruction: 'follows the instruction' judges one against the other
      withPromptedRankings({ ...proxy(v.rankings), id: RUN.rewardModel, evaluations: [], labeler: LABELER }),
      grpo(RUN.learned, 'GRPO, the learned reward model', 'learned', { reward: 'rm' }),
      grpo(RUN.lax, 'GRPO, the lax verifier (animal named)', 'animal_named'),
    ],
    charts: [
      chart(
        'following',
        'Instruction following on held-out instructions',
        'GRPO step',
        'share honoured',
        [[M.following, 'all named', 'eval']],
        {
          runs: grpoRuns,
        },
      ),
      chart(
        'pass-at-k',
        `pass@1 and pass@${v.k} on held-out instructions`,
        'GRPO step',
        'pass rate',
        [
          [passAt(1), 'pass@1', 'eval'],
          [passAt(v.k), `pass@${v.k}`, 'eval'],
        ],
        { runs: grpoRuns },
      ),
      chart(
        'lax',
        'What the lax verifier pays for, and the rest',
        'GRPO step',
        'share honoured',
        [[followingOf('animal'), 'animal', 'eval'], ...OTHER_KINDS.map((k): [string, string, 'eval'] => [followingOf(k), k, 'eval'])],
        { runs: [RUN.lax, RUN.verifier] },
      ),
    ],
    summarise: (runs) => summariseVerifiable(runs, v.k),
  };
}

/** First and last eval-point values of a metric. */
function firstLast(r: RunRecord | undefined, metric: string): [number, number] | null {
  const { values } = seriesOf(r, metric, 'eval');
  return values.length >= 2 ? [values[0], values.at(-1)!] : null;
}

const moved = ([a, b]: [number, number]) => `${pct(a)} → ${pct(b)}`;

/**
 * Per GRPO run, held-out following and pass@1 / pass@k from first to last evaluation; which gained more, pass@1 or
 * pass@k; what the lax run did to the animal and to the other kinds, with one of its latest responses that names the
 * animal and honours the least else.
 */
export function summariseVerifiable(runs: RunRecord[], k: number): string {
  const byId = (id: string) => runs.find((r) => r.id === id);
  const parts: string[] = [];
  for (const [id, name] of [
    [RUN.verifier, 'the program'],
    [RUN.learned, 'the reward model'],
    [RUN.lax, 'the lax verifier'],
  ] as const) {
    const r = byId(id);
    const following = firstLast(r, M.following);
    const p1 = firstLast(r, passAt(1));
    const pk = firstLast(r, passAt(k));
    if (!following || !p1 || !pk) continue;
    parts.push(
      `on ${name} following went ${moved(following)}, pass@1 ${moved(p1)} (${points(p1[1] - p1[0])}) and pass@${k} ` +
        `${moved(pk)} (${points(pk[1] - pk[0])})`,
    );
  }
  if (!parts.length) return 'Not run yet.';
  return `GRPO ${parts.join('; ')}.${hacked(byId(RUN.lax))}`;
}

/** The lax run's animal share against the other kinds', and an example of its latest responses. */
function hacked(r: RunRecord | undefined): string {
  const animal = firstLast(r, followingOf('animal'));
  if (!r || !animal) return '';
  const others = CONSTRAINT_KINDS.filter((kind) => kind !== 'animal').flatMap((kind) => {
    const v = firstLast(r, followingOf(kind));
    return v ? [`${kind} ${moved(v)}`] : [];
  });
  const latest = r.samples.at(-1)?.items ?? [];
  const example = latest
    .filter((x) => namesRequestedAnimal(x.prompt, x.response))
    .reduce<(typeof latest)[number] | null>((worst, x) => (worst === null || x.gold < worst.gold ? x : worst), null);
  const quote = example
    ? ` E.g. "${instructionOf(example.prompt)}" → "${example.response.trim().slice(0, 140)}" (${example.badge ?? ''}).`
    : '';
  return ` The lax verifier, paid for the animal alone, moved the animal ${moved(animal)} and the rest: ${others.join(', ')}.${quote}`;
}
