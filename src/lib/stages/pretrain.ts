/** Stage 0, pretraining: next-token prediction on the corpus (src/lib/train/pretrain.ts). */
import { PRETRAIN_SETTINGS, PretrainStage } from '../train/pretrain';
import { defineStage } from './descriptor';

export const pretrainStage = defineStage({
  name: 'pretrain',
  title: 'Pretrain',
  summary: 'Next-token prediction on the corpus: the model learns the language of its texts. The shipped checkpoint has done this already.',
  settings: PRETRAIN_SETTINGS,
  stepLabel: 'step',
  doneWhenShipped: true,
  charts: [
    {
      id: 'pretrain-chart',
      title: 'Loss (nats per token)',
      series: [
        { key: 'pretrain/loss', label: 'train', kind: 'train' },
        { key: 'pretrain/val_loss', label: 'validation', kind: 'eval' },
      ],
    },
  ],
  stats: [
    { id: 'pretrain-loss', label: 'loss', key: 'pretrain/loss', kind: 'train', format: 'fixed3' },
    { id: 'pretrain-val-loss', label: 'val loss', key: 'pretrain/val_loss', kind: 'eval', format: 'fixed3' },
    { id: 'pretrain-tps', label: 'tokens/s', key: 'pretrain/tokens_per_s', kind: 'train', format: 'integer' },
  ],
  plannedSteps: (s) => s.steps,
  create: (ctx, settings, control) => new PretrainStage(ctx.model, ctx.corpus, settings, control),
});
