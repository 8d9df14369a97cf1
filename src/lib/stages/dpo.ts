/**
 * DPO, the branch after SFT that needs no reward model (src/lib/rlhf/dpo.ts, Rafailov et al. 2023): the policy learns
 * from the same rankings as the reward model, with beta * log(pi/pi_ref) as its implicit reward and the SFT model as
 * the frozen reference. Rankings submitted while it runs join its set at the next step (online DPO), and its policy
 * writes the ranking tasks.
 */
import { DPO_SETTINGS, DpoStage } from '../rlhf/dpo';
import type { SampleView } from '../types';
import { defineStage, type StageContext } from './descriptor';
import { betweenPolicySteps } from './policySteps';

/** Steps between refreshes of the DPO-vs-reference sample stream, and how many it shows. */
const SAMPLE_EVERY = 4;
const SHOWN_SAMPLES = 3;
/** Instruction prompts whose sampled responses give the held-out KL from SFT (and the gold score in lecture mode). */
const EVAL_PROMPTS = 8;
const MIN_RANKINGS = 2;

export const dpoStage = defineStage({
  name: 'dpo',
  title: 'DPO',
  summary:
    'Direct preference optimisation: the policy learns from your rankings with no reward model and no sampling. Its implicit reward is β·log(π/π_ref), π_ref a frozen copy of the model it starts from (the SFT model, when SFT ran); for each ranked pair the loss is −log σ(reward of the preferred − reward of the other), every pair of a ranking in one batch (as Eq. 1). Rank its fresh samples while it trains: they join its rankings at the next step.',
  settings: DPO_SETTINGS,
  metricPrefix: '', // TRL's DPO names (rewards/chosen, logps/rejected, …)
  after: 'sft',
  withRankings: true,
  stepLabel: 'step',
  lineage: 'end',
  writesTasks: true,
  stepName: 'DPO step',
  charts: [
    {
      id: 'dpo-chart-loss',
      title: 'DPO loss',
      series: [{ key: 'loss', label: 'train', kind: 'train' }],
      reference: { value: Math.LN2, label: 'start (ln 2)' },
    },
    {
      id: 'dpo-chart-rewards',
      title: 'Implicit reward β·log(π/π_ref)',
      series: [
        { key: 'rewards/chosen', label: 'chosen', kind: 'train' },
        { key: 'rewards/rejected', label: 'rejected', kind: 'train' },
      ],
    },
    { id: 'dpo-chart-margins', title: 'Reward margin', series: [{ key: 'rewards/margins', label: 'chosen − rejected', kind: 'train' }] },
    {
      id: 'dpo-chart-accuracy',
      title: 'Preference accuracy',
      note: 'held-out: pairs whose preferred completion gets the higher implicit reward; it starts at 0, not 50 %, since every reward starts equal',
      series: [
        { key: 'rewards/accuracies', label: 'train batch', kind: 'train' },
        { key: 'pair_accuracy', label: 'held-out', kind: 'eval' },
      ],
      reference: { value: 0.5, label: 'chance (50%)' },
    },
    {
      id: 'dpo-chart-logps',
      title: 'Log-probability of the response',
      series: [
        { key: 'logps/chosen', label: 'chosen', kind: 'train' },
        { key: 'logps/rejected', label: 'rejected', kind: 'train' },
      ],
    },
    {
      id: 'dpo-chart-kl',
      title: 'KL to the reference π_ref',
      note: 'nats per response',
      series: [{ key: 'objective/kl', label: 'KL', kind: 'eval' }],
    },
    {
      id: 'dpo-chart-gold',
      title: 'Gold score (simulated labeler)',
      note: 'what the labeler really prefers',
      series: [{ key: 'objective/gold', label: 'gold', kind: 'eval' }],
      optional: true,
    },
  ],
  stats: [
    { id: 'dpo-loss', label: 'loss', key: 'loss', kind: 'train', format: 'fixed3' },
    { id: 'dpo-margin', label: 'margin', key: 'rewards/margins', kind: 'train', format: 'fixed3' },
    { id: 'dpo-accuracy', label: 'held-out accuracy', key: 'pair_accuracy', kind: 'eval', format: 'percent' },
    { id: 'dpo-kl', label: 'KL', key: 'objective/kl', kind: 'eval', format: 'fixed3' },
    { id: 'dpo-gold', label: 'gold', key: 'objective/gold', kind: 'eval', format: 'fixed3', optional: true },
  ],
  plannedSteps: () => 0, // known once created: epochs × batches of the rankings then at hand
  evalEvery: 10,
  blocker(ctx) {
    if (ctx.rankings.length < MIN_RANKINGS) return 'Rank at least two prompts first (or let a simulated labeler rank), then run DPO.';
    if (ctx.stageState('ppo') !== 'not-started')
      return 'Reset PPO-ptx first: DPO and PPO-ptx are two branches from the SFT model, and both train the policy.';
    if (ctx.stageObject('grpo')) return 'Reset GRPO first: DPO and GRPO are two branches from the SFT model, and both train the policy.';
    return null;
  },
  create(ctx, settings, control) {
    const stage = new DpoStage({
      control,
      policy: ctx.model,
      tokenizer: ctx.tokenizer,
      rankings: [...ctx.rankings],
      startsFrom: ctx.stageState('sft') === 'done' ? 'sft' : 'policy',
      evalPrompts: ctx.prompts.slice(0, EVAL_PROMPTS),
      goldScorer: ctx.goldScorer,
      settings,
    });
    if (stage.counts.train === 0) {
      stage.dispose();
      throw new Error('All rankings so far fell into the held-out share: rank a few more prompts.');
    }
    return stage;
  },
  // its frozen reference (the SFT model, or the policy it started from)
  savedVariables: (stage) => (stage as DpoStage).reference.variables(),
  liveRankings: { join: (stage, added) => (stage as DpoStage).addRankings(added) },
  taskSampling: (s) => ({ temperature: s.temperature, maxNewTokens: s.response_length }),
  // between steps the rankings that arrived join, the queue refills from the newest policy, the sample stream refreshes:
  // in line (no aside), as its steps are short and its samples come from the policy the next step changes
  afterStep: (stage, step, ctx, control) =>
    betweenPolicySteps(step, ctx, { ...control, aside: undefined }, SAMPLE_EVERY, () =>
      policyBesideReference(stage as DpoStage, step, ctx),
    ),
});

/** The DPO policy's responses beside the reference's to the same prompts. */
async function policyBesideReference(dpo: DpoStage, step: number, ctx: StageContext): Promise<SampleView[]> {
  const prompts = ctx.prompts.slice(0, SHOWN_SAMPLES);
  const [policy, reference] = [await dpo.samplePolicy(prompts, step), await dpo.sampleReference(prompts, step)];
  return policy.map((p, i) => ({ prompt: p.prompt, completion: p.response, reference: { completion: reference[i].response } }));
}
