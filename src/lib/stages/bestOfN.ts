/**
 * Best-of-n, a branch after SFT that trains nothing (src/lib/rlhf/bestOfN.ts): the SFT model answers each prompt n
 * times and the completion the reward scores highest is kept, for n = 1, 2, 4, ..., n_max. Its reward is the `reward`
 * setting (rewardKinds.ts), as GRPO's. It leaves the policy alone: not in the lineage, and it writes no ranking tasks.
 */
import { BEST_OF_N_SETTINGS, BestOfNStage } from '../rlhf/bestOfN';
import { defineStage } from './descriptor';
import { REWARD_SETTING, rewardBlocker, rewardSource } from './rewardKinds';

/** Kept completions the sample stream shows after each step. */
const SHOWN_SAMPLES = 3;
/** Stages whose training leaves the shared policy no longer the SFT model that best-of-n samples. */
const POLICY_TRAINERS = [
  ['ppo', 'PPO-ptx'],
  ['dpo', 'DPO'],
  ['grpo', 'GRPO'],
] as const;

const byN = (id: string, title: string, series: [key: string, label: string][], note?: string) => ({
  id,
  title,
  note,
  x: 'best_of_n/n',
  xLabel: 'n',
  series: series.map(([key, label]) => ({ key, label, kind: 'train' as const })),
});

export const bestOfNStage = defineStage({
  name: 'best_of_n',
  title: 'Best-of-n',
  summary:
    'No training: the SFT model answers each prompt n times and the answer the reward scores highest is kept, for n = 1, 2, 4, … up to n_max. The more it samples, the higher the kept reward, and the further the kept answers drift from what the SFT model would write: KL ≤ log n − (n − 1)/n (Beirami et al. 2024). One sampling pass serves the sweep: best of n is the best of the first n. The Reward setting says what scores the answers.',
  settings: [...BEST_OF_N_SETTINGS, REWARD_SETTING],
  metricPrefix: '', // GRPO's words (reward, objective/kl, completions/mean_length) and best_of_n/n
  // no lossMetric: it reports no 'loss', and nothing it computes can diverge
  after: 'sft',
  uses: ['reward'],
  stepLabel: 'step',
  lineage: 'off',
  stepName: 'best-of-n step',
  charts: [
    byN('best-of-n-chart-reward', 'Reward of the kept completion vs n', [
      ['reward', 'best of n'],
      ['reward_mean', 'mean of the n'],
    ]),
    {
      ...byN(
        'best-of-n-chart-gold',
        'Gold score of the kept completion vs n',
        [['objective/gold', 'gold']],
        'what the labeler really prefers',
      ),
      optional: true,
    },
    byN(
      'best-of-n-chart-kl',
      'KL from the SFT model vs n',
      [['objective/kl', 'log n − (n − 1)/n']],
      'the closed form, an upper bound on the exact KL (Beirami et al. 2024), nats per completion',
    ),
    {
      ...byN('best-of-n-chart-following', 'Instruction following of the kept completion', [
        ['objective/instruction_following', 'following'],
      ]),
      optional: true,
    },
  ],
  stats: [
    { id: 'best-of-n-n', label: 'n', key: 'best_of_n/n', kind: 'train', format: 'integer' },
    { id: 'best-of-n-reward', label: 'reward', key: 'reward', kind: 'train', format: 'fixed3' },
    { id: 'best-of-n-kl', label: 'KL bound', key: 'objective/kl', kind: 'train', format: 'fixed3' },
    { id: 'best-of-n-gold', label: 'gold', key: 'objective/gold', kind: 'train', format: 'fixed3', optional: true },
  ],
  plannedSteps: (s) => Math.ceil(Math.log2(s.n_max)) + 1,
  blocker(ctx, settings) {
    const reward = rewardBlocker(ctx, settings.reward, 'Best-of-n');
    if (reward) return reward;
    const trainer = POLICY_TRAINERS.find(([name]) => ctx.stageObject(name));
    return trainer ? `Reset ${trainer[1]} first: best-of-n samples the SFT model, and ${trainer[1]} has trained the policy since.` : null;
  },
  create: (ctx, settings, control) =>
    new BestOfNStage({
      control,
      policy: ctx.model,
      tokenizer: ctx.tokenizer,
      prompts: ctx.heldOutPrompts ?? ctx.prompts,
      ...rewardSource(ctx, settings.reward),
      goldScorer: ctx.goldScorer,
      settings,
    }),
  // its frozen copy of the SFT model, which an autosave brings back
  savedVariables: (stage) => (stage as BestOfNStage).sft.variables(),
  afterStep: async (stage) =>
    (stage as BestOfNStage).kept.slice(0, SHOWN_SAMPLES).map((k) => ({ prompt: k.prompt, completion: k.response, reward: k.reward })),
});
