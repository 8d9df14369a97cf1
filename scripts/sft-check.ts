/**
 * Does SFT teach the shipped model to follow instructions? Measures instruction following (the share of
 * the named constraints of held-out instructions that sampled responses honour) before and after SFT.
 *
 *   npx tsx scripts/sft-check.ts                               # SFT defaults on the shipped mini model
 *   npx tsx scripts/sft-check.ts --epochs 8 --lr 1e-3 --demos 1024 --prompts 64
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeCheckpoint, modelFromCheckpoint } from '../src/lib/model/checkpoint';
import { heldOutFollowingPrompts, measureInstructionFollowing, type FollowingReport } from '../src/lib/rlhf/instructionEval';
import { SftStage, type SftSettings } from '../src/lib/rlhf/sft';
import { STORIES_ONLY } from '../src/lib/data/tasks/mix';
import { useNodeBackend } from './node-backend';

const { values: args } = parseArgs({
  options: {
    checkpoint: { type: 'string', default: 'public/checkpoints/default.safetensors' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    demos: { type: 'string' },
    batch: { type: 'string' },
    seed: { type: 'string', default: '1' },
    prompts: { type: 'string', default: '64' },
    tokens: { type: 'string', default: '0' },
    temperature: { type: 'string', default: '1' },
    'eval-every': { type: 'string', default: '0' },
    'skip-before': { type: 'boolean', default: false },
  },
});

const backend = await useNodeBackend();
const ckpt = decodeCheckpoint(new Uint8Array(readFileSync(args.checkpoint!)));
const model = modelFromCheckpoint(ckpt);
const tokenizer = ckpt.tokenizer;
const settings: Partial<SftSettings> = { seed: Number(args.seed), instruction_prompts: 0, task_mix: STORIES_ONLY };
if (args.epochs) settings.epochs = Number(args.epochs);
if (args.lr) settings.learning_rate = Number(args.lr);
if (args.demos) settings.demonstrations = Number(args.demos);
if (args.batch) settings.batch_size = Number(args.batch);
const prompts = heldOutFollowingPrompts(Number(args.prompts));
const opts = { maxNewTokens: Number(args.tokens) || undefined, temperature: Number(args.temperature), seed: 5 };
const show = (label: string, r: FollowingReport, seconds: number) => {
  const kinds = Object.entries(r.byKind)
    .map(([k, v]) => `${k} ${v.honoured}/${v.total}`)
    .join(', ');
  const ca = r.byKind.character.honoured + r.byKind.animal.honoured;
  const caTotal = r.byKind.character.total + r.byKind.animal.total;
  console.log(
    `${label}: instruction following ${(100 * r.share).toFixed(1)} % (${r.honoured}/${r.total} constraints of ${r.prompts} prompts; characters+animals ${ca}/${caTotal} = ${((100 * ca) / caTotal).toFixed(1)} %) [${kinds}] ${seconds.toFixed(0)} s`,
  );
};
console.log(`${backend}, ${args.checkpoint} (${ckpt.config.nLayer}x${ckpt.config.nEmbd}), settings ${JSON.stringify(settings)}`);
let t = performance.now();
if (!args['skip-before']) {
  const before = await measureInstructionFollowing(model, tokenizer, prompts, opts);
  show('before SFT', before, (performance.now() - t) / 1000);
  console.log(`  e.g. ${JSON.stringify(prompts[0] + before.responses[0])}`);
}
t = performance.now();
const stage = new SftStage(model, tokenizer, settings);
const every = Number(args['eval-every']);
while (stage.stepsDone < stage.totalSteps) {
  const m = await stage.step();
  if (every > 0 && stage.stepsDone % every === 0 && stage.stepsDone < stage.totalSteps) {
    const r = await measureInstructionFollowing(model, tokenizer, prompts, opts);
    show(`  step ${stage.stepsDone} (loss ${m.loss.toFixed(3)}, ${((performance.now() - t) / 1000).toFixed(0)} s)`, r, 0);
  }
}
const trainSeconds = (performance.now() - t) / 1000;
const { val_loss } = await stage.evaluate();
t = performance.now();
const after = await measureInstructionFollowing(model, tokenizer, prompts, opts);
show(
  `after SFT (${stage.totalSteps} steps, ${trainSeconds.toFixed(0)} s, val_loss ${val_loss.toFixed(3)})`,
  after,
  (performance.now() - t) / 1000,
);
console.log(`  e.g. ${JSON.stringify(prompts[0] + after.responses[0])}`);
stage.dispose();
model.dispose();
