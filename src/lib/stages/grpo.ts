/**
 * GRPO, a branch after SFT that trains the policy with no value model (src/lib/rlhf/grpo.ts, Shao et al. 2024): per
 * prompt a group of completions, each rewarded, each advantage its reward against the group's. Its reward is the
 * `reward` setting (rewardKinds.ts): the reward model, which keeps learning from the rankings made while GRPO runs, as
 * with PPO-ptx, or a program. Its policy writes the ranking tasks.
 */
import { GRPO_SETTINGS, GrpoStage } from '../rlhf/grpo';
import type { SampleView } from '../types';
import { defineStage } from './descriptor';
import { betweenPolicySteps } from './policySteps';
import { REWARD_KINDS, REWARD_SETTING, rewardBlocker, rewardSource } from './rewardKinds';

/** Steps between refreshes of the sample stream, and how many completions it shows. */
const SAMPLE_EVERY = 2;
const SHOWN_SAMPLES = 3;
/** Instruction prompts whose responses the held-out evaluation scores (gold, instruction following). */
const EVAL_PROMPTS = 8;

const chart = (id: string, title: string, key: string, label: string, note?: string) => ({ id, title, note, series: [{ key, label }] });

export const grpoStage = defineStage({
  name: 'grpo',
  title: 'GRPO',
  summary:
    'Group relative policy optimisation (DeepSeekMath): for each prompt the policy writes a group of G completions and each is rewarded; a completion’s advantage is its reward against its group’s, A = (r − mean) / std, the same for all its tokens. The clipped ratio of PPO raises the better ones; a k3 KL term (β) keeps the policy near the SFT model; there is no value model. The Reward setting says what rewards them: the reward model learned from your rankings (it keeps learning from those you make while GRPO runs), or a program (instruction following, or the simulated labeler’s gold score); the reward chart names the one in use.',
  settings: [...GRPO_SETTINGS, REWARD_SETTING],
  metricPrefix: '', // TRL's GRPO names (reward, kl, completions/mean_length, …)
  // the surrogate loss moves around 0 with the advantages; a per-token KL far above its start (0) tells a policy that ran off
  lossMetric: 'kl',
  // in the pipeline beside PPO-ptx, after the reward model (its learned reward); its policy starts from SFT's, as theirs
  after: 'reward',
  uses: ['reward'],
  withRankings: true,
  stepLabel: 'step',
  lineage: 'end',
  writesTasks: true,
  stepName: 'GRPO step',
  charts: [
    {
      id: 'grpo-chart-reward',
      title: 'Reward',
      note: 'mean over the completions, by the reward in use',
      series: REWARD_KINDS.map((kind) => ({ key: `rewards/${kind}/mean`, label: kind.replace('_', ' ') })),
    },
    chart('grpo-chart-reward-std', 'Reward spread within a group', 'reward_std', 'std'),
    chart(
      'grpo-chart-zero-std',
      'Groups with equal rewards',
      'frac_reward_zero_std',
      'share',
      'their advantages are 0: they teach nothing',
    ),
    {
      ...chart('grpo-chart-gold', 'Gold score (simulated labeler)', 'objective/gold', 'gold', 'what the labeler really prefers'),
      optional: true,
    },
    {
      ...chart(
        'grpo-chart-following',
        'Instruction following',
        'objective/instruction_following',
        'following',
        "share of the instructions' named characters, animals, place, mood, ending and length honoured",
      ),
      optional: true,
    },
    chart('grpo-chart-kl', 'KL to the SFT model (k3)', 'kl', 'KL', 'nats per token'),
    chart('grpo-chart-clip', 'Clipped ratios', 'clip_ratio/region_mean', 'share', 'share of tokens whose ratio the clip held'),
    chart('grpo-chart-length', 'Completion length', 'completions/mean_length', 'tokens'),
    chart('grpo-chart-loss', 'Loss', 'loss', 'loss'),
  ],
  stats: [
    { id: 'grpo-reward', label: 'reward', key: 'reward', kind: 'train', format: 'fixed3' },
    { id: 'grpo-kl', label: 'KL', key: 'kl', kind: 'train', format: 'fixed4', optional: true },
    { id: 'grpo-zero-std', label: 'equal groups', key: 'frac_reward_zero_std', kind: 'train', format: 'percent' },
    { id: 'grpo-gold', label: 'gold', key: 'objective/gold', kind: 'train', format: 'fixed3', optional: true },
  ],
  plannedSteps: (s) => s.steps,
  blocker(ctx, settings) {
    const reward = rewardBlocker(ctx, settings.reward, 'GRPO');
    if (reward) return reward;
    if (ctx.stageObject('ppo'))
      return 'Reset PPO-ptx first: GRPO and PPO-ptx are two branches from the SFT model, and both train the policy.';
    if (ctx.stageObject('dpo')) return 'Reset DPO first: GRPO and DPO are two branches from the SFT model, and both train the policy.';
    return null;
  },
  create: (ctx, settings, control) =>
    new GrpoStage({
      control,
      policy: ctx.model,
      tokenizer: ctx.tokenizer,
      prompts: ctx.prompts,
      ...rewardSource(ctx, settings.reward),
      rewardName: settings.reward,
      evalPrompts: ctx.prompts.slice(0, EVAL_PROMPTS),
      goldScorer: ctx.goldScorer,
      settings,
    }),
  // its frozen SFT reference (none when beta = 0)
  savedVariables: (stage) => (stage as GrpoStage).reference?.variables() ?? [],
  taskSampling: (s) => ({ temperature: s.temperature, maxNewTokens: s.response_length }),
  // between steps new rankings update the reward model, the queue refills from the newest policy, the sample stream
  // refreshes: in line (no aside), as its next step scores with the reward model at once (PPO-ptx waits for the update)
  afterStep: (stage, step, ctx, control) =>
    betweenPolicySteps(step, ctx, { ...control, aside: undefined }, SAMPLE_EVERY, async () => latestSamples(stage as GrpoStage)),
});

/** The last step's first completions (of its first group), with their rewards. */
function latestSamples(grpo: GrpoStage): SampleView[] {
  return grpo.lastSamples.slice(0, SHOWN_SAMPLES).map((s) => ({ prompt: s.prompt, completion: s.response, reward: s.reward }));
}
