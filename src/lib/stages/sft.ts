/**
 * Stage 1, supervised fine-tuning on demonstrations (src/lib/rlhf/sft.ts), with a sample stream while it runs: the
 * model's responses to the same few held-out instructions every SAMPLE_EVERY steps.
 */
import { TASK_MIX_SETTING } from '../data/tasks/mix';
import { sample } from '../model/sampler';
import { heldOutFollowingPrompts } from '../rlhf/instructionEval';
import { SFT_SETTINGS, SftStage } from '../rlhf/sft';
import type { SampleView } from '../types';
import { defineStage, type StageContext } from './descriptor';

/** SFT steps between refreshes of the sample stream (also after the first step): 8 in a run of the defaults' 128. */
const SAMPLE_EVERY = 16;
/**
 * The stream: the same instructions, short responses and seed each time, so only the weights change between
 * refreshes. Three responses of 48 tokens take about a third of one SFT step of the defaults on wasm: about 2 % of
 * the run's time at one refresh every 16 steps.
 */
const STREAM_PROMPTS = 3;
const STREAM_SAMPLING = { maxNewTokens: 48, temperature: 0.8, topK: 0, seed: 7 };

export const sftStage = defineStage({
  name: 'sft',
  title: 'SFT',
  summary:
    'Supervised fine-tuning. The pretrained model learns to answer instructions by imitating demonstrations (Instruction: … / Response: …). The loss counts only the response tokens. This model becomes the starting policy for PPO and the reference its KL penalty holds it to.',
  settings: SFT_SETTINGS,
  promptMix: TASK_MIX_SETTING.key,
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
  afterStep: async (_stage, step, ctx, control) => {
    if (control.shouldStop() || (step % SAMPLE_EVERY !== 0 && step !== 1)) return;
    return responsesToInstructions(ctx);
  },
});

/** The policy's responses to the stream's held-out instructions (ones the demonstrations never use). */
async function responsesToInstructions(ctx: StageContext): Promise<SampleView[]> {
  const { model, tokenizer } = ctx;
  const prompts = heldOutFollowingPrompts(STREAM_PROMPTS);
  const encoded = prompts.map((p) => tokenizer.encode(p).slice(-(model.config.blockSize - STREAM_SAMPLING.maxNewTokens)));
  const { completions } = await sample(model, encoded, { ...STREAM_SAMPLING, eosId: tokenizer.eosId });
  return prompts.map((prompt, i) => ({ prompt, completion: tokenizer.decode(completions[i].filter((t) => t !== tokenizer.eosId)) }));
}
