/** Stage 3, PPO-ptx against the reward model, with the KL penalty and the pretraining term (src/lib/rlhf/ppo.ts, Eq. 2). */
import { minibatchError, PPO_SETTINGS, PpoStage } from '../rlhf/ppo';
import type { RewardStage } from '../rlhf/rewardTrainer';
import type { SampleView } from '../types';
import { defineStage, type StageContext } from './descriptor';
import { betweenPolicySteps } from './policySteps';
import { REWARD_SETTING, rewardBlocker, rewardSource } from './rewardKinds';

/** PPO iterations between refreshes of the SFT-vs-policy sample stream. */
const SAMPLE_EVERY = 2;
const SHOWN_SAMPLES = 3;

const chart = (id: string, title: string, key: string, label: string, note?: string) => ({ id, title, note, series: [{ key, label }] });

export const ppoStage = defineStage({
  name: 'ppo',
  title: 'PPO-ptx',
  summary:
    'The policy (starting from the SFT model) writes responses; the reward model scores them; PPO raises the probability of high-scoring responses. A per-token KL penalty (β) keeps the policy near the SFT model, and the ptx term (γ) keeps it good at the pretraining text (Eq. 2). Rank its fresh samples while it trains: the reward model updates between iterations. The Reward setting may put a program in the reward model’s place: instruction following, or the simulated labeler’s gold score.',
  settings: [...PPO_SETTINGS, REWARD_SETTING],
  metricPrefix: '', // TRL's names (objective/kl, loss/policy_avg, …) are namespaced already
  // the policy and value losses move with the advantages; the LM loss on pretraining text tells a policy that lost its language
  lossMetric: 'ptx/loss',
  uses: ['reward'],
  withRankings: true,
  stepLabel: 'iteration',
  lineage: 'end',
  writesTasks: true,
  stepName: 'PPO iteration',
  charts: [
    {
      id: 'ppo-chart-scores',
      title: 'Reward-model score',
      series: [
        { key: 'objective/scores', label: 'score' },
        { key: 'objective/rlhf_reward', label: 'score − β·KL' },
      ],
    },
    {
      ...chart('ppo-chart-gold', 'Gold score (simulated labeler)', 'objective/gold', 'gold', 'what the labeler really prefers'),
      optional: true,
    },
    {
      ...chart(
        'ppo-chart-following',
        'Instruction following',
        'objective/instruction_following',
        'following',
        "share of the rollout instructions' named characters, animals, place, mood, ending and length honoured",
      ),
      optional: true,
    },
    chart('ppo-chart-kl', 'KL to the SFT model', 'objective/kl', 'KL', 'nats per response'),
    chart('ppo-chart-kl-coef', 'KL coefficient β', 'objective/kl_coef', 'β'),
    chart('ppo-chart-policy-loss', 'Policy loss', 'loss/policy_avg', 'policy'),
    chart('ppo-chart-value-loss', 'Value loss', 'loss/value_avg', 'value'),
    chart('ppo-chart-clipfrac', 'Clip fraction', 'policy/clipfrac_avg', 'clipfrac', 'share of clipped ratios'),
    chart('ppo-chart-entropy', 'Entropy', 'policy/entropy_avg', 'entropy', 'nats per token'),
    chart('ppo-chart-ptx', 'Pretraining loss (ptx)', 'ptx/loss', 'ptx'),
  ],
  stats: [
    { id: 'ppo-score', label: 'score', key: 'objective/scores', format: 'fixed3' },
    { id: 'ppo-kl', label: 'KL', key: 'objective/kl', format: 'fixed3' },
    { id: 'ppo-beta', label: 'β', key: 'objective/kl_coef', format: 'fixed4' },
    { id: 'ppo-gold', label: 'gold', key: 'objective/gold', format: 'fixed3', optional: true },
  ],
  plannedSteps: (s) => s.iterations,
  validate: minibatchError,
  blocker(ctx, settings) {
    const reward = rewardBlocker(ctx, settings.reward, 'PPO-ptx');
    if (reward) return reward;
    if (ctx.stageObject('dpo')) return 'Reset DPO first: PPO-ptx and DPO are two branches from the SFT model, and both train the policy.';
    if (ctx.stageObject('grpo'))
      return 'Reset GRPO first: PPO-ptx and GRPO are two branches from the SFT model, and both train the policy.';
    return null;
  },
  create: (ctx, settings, control) =>
    new PpoStage({
      control,
      policy: ctx.model,
      tokenizer: ctx.tokenizer,
      prompts: ctx.prompts,
      ...rewardSource(ctx, settings.reward),
      // the reward-model update of the rankings that arrived runs beside the sampling; the scoring waits for it
      beforeScoring: ctx.rankingFlow.rewardUpdated,
      pretrainTokens: ctx.corpus.train,
      goldScorer: ctx.goldScorer,
      settings,
    }),
  // its frozen SFT reference; the value model is re-cloned from the reward model
  savedVariables: (stage) => (stage as PpoStage).reference.variables(),
  // ranking tasks sample as its rollouts do
  taskSampling: (s) => ({ temperature: s.temperature, maxNewTokens: s.response_length }),
  // between iterations new rankings update the reward model, the queue refills, the sample stream refreshes: all
  // beside the next iteration, whose scoring waits for the update
  afterStep: (stage, step, ctx, control) =>
    betweenPolicySteps(step, ctx, control, SAMPLE_EVERY, () => policyBesideSft(stage as PpoStage, step, ctx)),
});

/** The latest rollouts beside the SFT model's response to the same prompts, each scored by the reward model. */
async function policyBesideSft(ppo: PpoStage, step: number, ctx: StageContext): Promise<SampleView[]> {
  const reward = ctx.stageObject('reward') as RewardStage | null;
  const shown = ppo.lastSamples.slice(0, SHOWN_SAMPLES);
  const references = await ppo.sampleReference(
    shown.map((s) => s.prompt),
    step,
  );
  const referenceRewards = reward
    ? await reward.predictMany(shown.map((s, i) => ({ prompt: s.prompt, completions: [references[i].response] })))
    : [];
  return shown.map((s, i) => ({
    prompt: s.prompt,
    completion: s.response,
    reward: s.score,
    klK3: s.klK3,
    reference: { completion: references[i].response, reward: referenceRewards[i]?.[0] },
  }));
}
