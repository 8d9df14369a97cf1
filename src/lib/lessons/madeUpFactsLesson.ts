/**
 * The lesson "fewer made-up facts" (issue 24): from the task-pretrained checkpoint, SFT on the task mix, then DPO on the
 * rankings of a labeler who dislikes made-up facts ('no-made-up-facts'), and the share of held-out closed-domain
 * responses that make up a fact after SFT and after DPO, each with its 95 % interval and the interval of the
 * difference, beside InstructGPT's 41 % → 21 %. Its text, runs, charts and summary; lessons.ts lists it.
 *
 * Why DPO: the labeler's preference is a plain pairwise one (a response that invents a fact loses to one that does not),
 * and DPO learns it from the rankings of the SFT model's responses sampled once, with no reward model to train and no
 * sampling while it trains; a reward model and PPO-ptx or GRPO would spend most of the 3 minutes sampling rollouts.
 */
import { instructionOf } from '../data/instructionFollowing';
import { FAMILY_BY_ID } from '../data/tasks/families';
import { seriesOf, type RunRecord } from '../runs/record';
import { taskCorrectMetric } from '../rlhf/metrics';
import type { ChartSpec } from '../types';
import { M } from './metrics';
import type { LessonSizes } from './sizes';
import { differenceInterval, wilsonInterval } from './stats';
import type { Lesson } from './types';

const LABELER = 'no-made-up-facts';
const RUN = { sft: 'sft', dpo: 'dpo' } as const;
/** The labeler's rankings: its own seed, noiseless (the lesson's budget allows few). */
const RANKING_SEED = 61;
/** InstructGPT's made-up-fact rates on closed-domain tasks (Ouyang et al. 2022): GPT-3 and InstructGPT. */
export const PAPER_RATES = { gpt3: 0.41, instructGpt: 0.21 } as const;
const FAMILIES_SHOWN = ['closed_qa', 'extraction', 'summarisation', 'classification', 'rewrite'] as const;

const pct = (x: number) => `${Math.round(100 * x)} %`;
const points = (x: number) => `${x < 0 ? '−' : ''}${Math.abs(Math.round(100 * x))}`;

export function madeUpFactsLesson(sizes: LessonSizes): Lesson {
  const m = sizes.madeUpFacts;
  const evalSpec = { kind: 'made-up-facts' as const, prompts: m.prompts, responseLength: m.tokens, temperature: 1 };
  const charts: ChartSpec[] = [
    {
      id: 'made-up',
      title: `Made-up facts on ${m.prompts} held-out closed-domain prompts, with the 95 % interval`,
      xLabel: 'DPO step (0: the SFT model)',
      yLabel: 'share of responses',
      series: [
        { key: M.madeUp, label: 'made-up facts', kind: 'eval' },
        { key: M.madeUpLow, label: 'low', kind: 'eval' },
        { key: M.madeUpHigh, label: 'high', kind: 'eval' },
      ],
      runs: [RUN.dpo],
    },
    {
      id: 'correct',
      title: 'Correct answers per family (the same responses)',
      xLabel: 'DPO step (0: the SFT model)',
      yLabel: 'share correct',
      series: FAMILIES_SHOWN.map((f) => ({ key: taskCorrectMetric(f), label: FAMILY_BY_ID[f].title, kind: 'eval' as const })),
      runs: [RUN.dpo],
    },
    {
      id: 'sft-loss',
      title: 'SFT on the task mix: response loss',
      xLabel: 'SFT step',
      yLabel: 'nats per token',
      series: [{ key: M.sftLoss, label: 'train', kind: 'train' }],
      runs: [RUN.sft],
    },
  ];
  return {
    id: 'made-up-facts',
    title: 'Fewer made-up facts',
    explanation:
      `From the task-pretrained checkpoint, SFT on ${m.demonstrations} demonstrations of the task mix; then a labeler who ` +
      `dislikes made-up facts ranks ${m.rankings} sets of ${m.k} responses of the SFT model to tasks about a story in the ` +
      'prompt (rewrite, summary, questions, lists, endings), and DPO learns from those rankings. Before and after DPO each ' +
      `model answers the same ${m.prompts} held-out closed-domain prompts: a response makes up a fact when it names a ` +
      'character, animal, object or place the story does not have. Watch the share fall, and whether the answers stay ' +
      'correct or merely say less.',
    paperFinding:
      `InstructGPT (Ouyang et al. 2022): on closed-domain tasks, where the answer must come from the input, labelers found ` +
      `that GPT-3 made up information in ${pct(PAPER_RATES.gpt3)} of its outputs and InstructGPT in ${pct(PAPER_RATES.instructGpt)}: ` +
      'RLHF from human rankings roughly halved it.',
    base: 'tasks',
    tasks: {
      storyChars: m.storyChars,
      prompts: m.rankings,
      heldOutPrompts: m.prompts,
      demonstrations: m.demonstrations,
      responseTokens: m.tokens,
    },
    runs: [
      {
        id: RUN.sft,
        label: `SFT on the task mix (${m.demonstrations} demonstrations)`,
        stage: 'sft',
        // the context's task demonstrations, beside the fewest built-in stories SFT takes
        settings: { ...m.sft, demonstrations: 8, instruction_prompts: 0 },
        demonstrations: m.demonstrations,
        evaluations: [],
        evalEvery: 0,
        produces: RUN.sft,
      },
      {
        id: RUN.dpo,
        label: `DPO on ${m.rankings} rankings by "dislikes made-up facts"`,
        stage: 'dpo',
        from: RUN.sft,
        labeler: LABELER,
        settings: { ...m.dpo, held_out_share: 0, response_length: m.tokens, temperature: 1 },
        rankings: {
          source: 'policy',
          prompted: true,
          k: m.k,
          agreement: 1,
          responseLength: m.tokens,
          temperature: 1,
          seed: RANKING_SEED,
          count: m.rankings,
        },
        evaluations: [evalSpec],
        evalEvery: m.evalEvery,
      },
    ],
    charts,
    summarise: summariseMadeUpFacts,
  };
}

/** Made-up facts of the first and last evaluation of the DPO run: counts and totals. */
function endpoints(r: RunRecord | undefined): { x: number; n: number }[] | null {
  const rates = seriesOf(r, M.madeUp, 'eval').values;
  const totals = seriesOf(r, M.closedDomain, 'eval').values;
  if (rates.length < 2 || totals.length !== rates.length) return null;
  return [0, rates.length - 1].map((i) => ({ x: Math.round(rates[i] * totals[i]), n: totals[i] }));
}

const withInterval = ({ x, n }: { x: number; n: number }) => {
  const w = wilsonInterval(x, n);
  return `${pct(w.share)} (95 % interval ${pct(w.low)}–${pct(w.high)}, ${x} of ${n})`;
};

/**
 * The made-up-fact rates after SFT and after DPO with their intervals, the difference with its interval, per-family
 * correctness, the paper's figures, and one held-out prompt answered before and after.
 */
export function summariseMadeUpFacts(runs: RunRecord[]): string {
  const dpo = runs.find((r) => r.id === RUN.dpo);
  const ends = endpoints(dpo);
  if (!ends) return 'Not run yet.';
  const [sft, after] = ends;
  const d = differenceInterval(sft.x, sft.n, after.x, after.n);
  const verdict =
    d.low > 0 ? 'fewer' : d.high < 0 ? 'more' : 'no measurable change: the interval of the difference includes 0 at this size';
  const correct = FAMILIES_SHOWN.slice(0, 2).flatMap((f) => {
    const v = seriesOf(dpo, taskCorrectMetric(f), 'eval').values;
    return v.length >= 2 ? [`${FAMILY_BY_ID[f].title} ${pct(v[0])} → ${pct(v.at(-1)!)}`] : [];
  });
  return (
    `Made-up facts on held-out closed-domain prompts: after SFT ${withInterval(sft)}, after DPO ${withInterval(after)}; ` +
    `${verdict} (after SFT minus after DPO: ${points(d.difference)} points, 95 % interval ${points(d.low)} to ${points(d.high)}). ` +
    `The paper: GPT-3 ${pct(PAPER_RATES.gpt3)} → InstructGPT ${pct(PAPER_RATES.instructGpt)}. ` +
    (correct.length ? `Correct answers: ${correct.join(', ')}.` : '') +
    example(dpo)
  );
}

/** A held-out prompt whose SFT response made up a fact, and the DPO model's response to it (else the first prompt). */
function example(r: RunRecord | undefined): string {
  const [before, latest] = r?.samples ?? [];
  if (!before || !latest || latest === before) return '';
  const i = Math.max(
    0,
    before.items.findIndex((x, j) => x.gold === 0 && latest.items[j]?.gold === 1),
  );
  const [b, a] = [before.items[i], latest.items[i]];
  if (!b || !a) return '';
  const quote = (text: string) => `"${text.trim().slice(0, 100)}"`;
  const instruction = instructionOf(b.prompt);
  // a long instruction from a word boundary, the question at its end kept
  const shown = instruction.length <= 120 ? instruction : `…${instruction.slice(instruction.indexOf(' ', instruction.length - 120) + 1)}`;
  return ` E.g. "${shown}": after SFT ${quote(b.response)} (${b.badge}); after DPO ${quote(a.response)} (${a.badge}).`;
}
