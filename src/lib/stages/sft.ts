/** Stage 1, supervised fine-tuning on demonstrations (src/lib/rlhf/sft.ts). */
import { SFT_SETTINGS, SftStage } from '../rlhf/sft';
import { defineStage } from './descriptor';

export const sftStage = defineStage({
  name: 'sft',
  title: 'SFT',
  summary:
    'Supervised fine-tuning. The pretrained model learns to answer instructions by imitating demonstrations (Instruction: … / Response: …). The loss counts only the response tokens. This model becomes the starting policy for PPO and the reference its KL penalty holds it to.',
  settings: SFT_SETTINGS,
  withRankings: true,
  stepLabel: 'step',
  // the model it ends with is the reference of what follows: ranking tasks from before are discarded
  lineage: 'start',
  charts: [
    {
      id: 'sft-chart',
      title: 'Response loss (nats per token)',
      series: [
        { key: 'sft/loss', label: 'train', kind: 'train' },
        { key: 'sft/val_loss', label: 'validation', kind: 'eval' },
      ],
    },
    {
      id: 'sft-chart-following',
      title: 'Instruction following (held-out instructions)',
      note: "share of the instructions' named characters, animals, objects, place, mood, ending and length that sampled responses honour; step 0: before SFT",
      series: [{ key: 'sft/instruction_following', label: 'following', kind: 'eval' }],
      optional: true,
    },
  ],
  stats: [
    { id: 'sft-loss', label: 'loss', key: 'sft/loss', kind: 'train', format: 'fixed3' },
    { id: 'sft-val-loss', label: 'val loss', key: 'sft/val_loss', kind: 'eval', format: 'fixed3' },
    { id: 'sft-following', label: 'following', key: 'sft/instruction_following', kind: 'eval', format: 'percent', optional: true },
  ],
  plannedSteps: () => 0,
  // validation figures while it runs, not only at the end, and before the first step: where SFT starts from
  evalEvery: 5,
  evalAtStart: true,
  create: (ctx, settings, control) => new SftStage(ctx.model, ctx.tokenizer, settings, [...ctx.demonstrations], control),
});
