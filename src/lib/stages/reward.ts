/**
 * Stage 2, the reward model (src/lib/rlhf/rewardTrainer.ts). It lives on after training: new rankings
 * update it, PPO-ptx reads its scores, and ranking tasks show its predictions.
 */
import { RewardModel } from '../rlhf/rewardModel';
import { REWARD_SETTINGS, RewardStage } from '../rlhf/rewardTrainer';
import { builtInDemonstrations } from '../rlhf/sft';
import { defineStage } from './descriptor';

/** Built-in demonstrations scored to normalise the reward (paper §3.5: demonstrations have mean reward 0). */
const NORMALISING_DEMOS = 32;
/** Fewer rankings than this leave nothing to learn from. */
const MIN_RANKINGS = 2;

export const rewardStage = defineStage({
  name: 'reward',
  title: 'Reward model',
  summary:
    'A copy of the SFT model with a scalar head reads a prompt and a response and outputs a score r. It learns from your rankings: a ranking of K completions gives all K(K−1)/2 pairs, and all pairs of one ranking go in the same batch (Eq. 1).',
  settings: REWARD_SETTINGS,
  withRankings: true,
  stepLabel: 'step',
  lineage: 'off',
  charts: [
    { id: 'reward-chart-loss', title: 'Ranking loss (Eq. 1)', series: [{ key: 'reward/loss', label: 'train', kind: 'train' }] },
    {
      id: 'reward-chart-accuracy',
      title: 'Held-out pair accuracy',
      series: [{ key: 'reward/pair_accuracy', label: 'held-out', kind: 'eval' }],
      reference: { value: 0.5, label: 'chance (50%)' },
    },
    {
      id: 'reward-chart-margin',
      title: 'Margin r(winner) − r(loser)',
      series: [{ key: 'reward/margin', label: 'held-out', kind: 'eval' }],
    },
    {
      id: 'reward-chart-rewards',
      title: 'Reward mean and spread',
      series: [
        { key: 'reward/reward_mean', label: 'mean', kind: 'eval' },
        { key: 'reward/reward_std', label: 'std', kind: 'eval' },
      ],
    },
  ],
  stats: [
    { id: 'reward-loss', label: 'loss', key: 'reward/loss', kind: 'train', format: 'fixed3' },
    { id: 'reward-pair-accuracy', label: 'pair accuracy', key: 'reward/pair_accuracy', kind: 'eval', format: 'percent' },
    { id: 'reward-margin', label: 'margin', key: 'reward/margin', kind: 'eval', format: 'fixed3' },
  ],
  plannedSteps: () => 0,
  // held-out pair accuracy while it trains, not only at the end
  evalEvery: 5,
  blocker: (ctx) =>
    ctx.rankings.length < MIN_RANKINGS
      ? 'Rank at least two prompts first (or let a simulated labeler rank), then train the reward model.'
      : null,
  create(ctx, settings, control) {
    const demonstrations = [...builtInDemonstrations(settings.seed, 0, NORMALISING_DEMOS).val, ...ctx.demonstrations];
    const stage = new RewardStage(RewardModel.fromPolicy(ctx.model, settings.seed), ctx.tokenizer, [...ctx.rankings], settings, {
      demonstrations,
      partMs: control?.partMs,
    });
    if (stage.counts.train === 0) {
      stage.rewardModel.dispose();
      stage.dispose();
      throw new Error('All rankings so far fell into the held-out share: rank a few more prompts.');
    }
    return stage;
  },
  // while it trains, new rankings join its set; once trained, they reach it in incremental updates
  liveRankings: {
    join: (stage, added) => (stage as RewardStage).addRankings(added),
    scorer: (stage) => stage as RewardStage,
  },
  savedVariables: (stage) => (stage as RewardStage).rewardModel.variables(),
  onDone: (_stage, ctx) => ctx.rankingFlow.rewardTrained(),
  release(stage, ctx) {
    const reward = stage as RewardStage;
    reward.rewardModel.dispose();
    reward.dispose();
    ctx.rankingFlow.rewardDropped();
  },
});
