/**
 * Makes the shipped SFT starting point: the shipped pretrained model after a long SFT run, written as
 * public/checkpoints/sft.safetensors with its report sft.json. The report holds instruction following
 * (data/instructionFollowing.ts) on held-out instructions the demonstrations never use: of the pretrained
 * model, of this SFT run, and of a run with SFT's defaults. The SFT panel shows those figures.
 *
 *   npm run ship-sft                                    # 1 epoch of 16,384 demonstrations at lr 1e-3 (1,024 steps)
 *   npm run ship-sft -- --trained /tmp/sft.safetensors  # measure and write weights already trained with this recipe
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Tokenizer } from '../src/lib/data/tokenizer';
import { checkpointOf, decodeCheckpoint, encodeCheckpoint, modelFromCheckpoint } from '../src/lib/model/checkpoint';
import type { GPT } from '../src/lib/model/gpt';
import { heldOutFollowingPrompts, measureInstructionFollowing, type FollowingReport } from '../src/lib/rlhf/instructionEval';
import { SftStage, type SftSettings } from '../src/lib/rlhf/sft';
import { STORIES_ONLY } from '../src/lib/data/tasks/mix';
import { useNodeBackend } from './node-backend';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string', default: 'public/checkpoints/default.safetensors' },
    out: { type: 'string', default: 'public/checkpoints/sft.safetensors' },
    demonstrations: { type: 'string', default: '16384' },
    lr: { type: 'string', default: '1e-3' },
    prompts: { type: 'string', default: '64' },
    trained: { type: 'string' },
  },
});

const recipe: Partial<SftSettings> = {
  demonstrations: Number(args.demonstrations),
  epochs: 1,
  learning_rate: Number(args.lr),
  seed: 1,
  instruction_prompts: 0,
  task_mix: STORIES_ONLY, // the shipped SFT model learnt the stories; its report measures following on them
};
const prompts = heldOutFollowingPrompts(Number(args.prompts));

const backend = await useNodeBackend();
const base = decodeCheckpoint(new Uint8Array(readFileSync(args.base!)));
const tokenizer = base.tokenizer;
const started = Date.now();

async function following(model: GPT, tok: Tokenizer, label: string): Promise<FollowingReport> {
  const report = await measureInstructionFollowing(model, tok, prompts, { temperature: 1, seed: 5 });
  console.log(
    `${label}: ${(100 * report.share).toFixed(1)} % of ${report.total} constraints (${((Date.now() - started) / 60000).toFixed(1)} min)`,
  );
  return report;
}

async function sft(settings: Partial<SftSettings>, label: string): Promise<{ model: GPT; steps: number; valLoss: number }> {
  const model = modelFromCheckpoint(base);
  const stage = new SftStage(model, tokenizer, settings);
  while (stage.stepsDone < stage.totalSteps) {
    const { loss } = await stage.step();
    if (stage.stepsDone % 64 === 0) console.log(`${label} step ${stage.stepsDone}/${stage.totalSteps}: loss ${loss.toFixed(3)}`);
  }
  const { val_loss } = await stage.evaluate();
  const steps = stage.totalSteps;
  stage.dispose();
  return { model, steps, valLoss: val_loss };
}

const pretrained = modelFromCheckpoint(base);
const before = await following(pretrained, tokenizer, 'the shipped pretrained model');
pretrained.dispose();

const withDefaults = await sft({ instruction_prompts: 0 }, 'SFT defaults');
const defaults = await following(withDefaults.model, tokenizer, `SFT defaults (${withDefaults.steps} steps)`);
withDefaults.model.dispose();

let trained: { model: GPT; steps: number; valLoss: number };
if (args.trained) {
  const ckpt = decodeCheckpoint(new Uint8Array(readFileSync(args.trained)));
  const model = modelFromCheckpoint(ckpt);
  const probe = new SftStage(model, tokenizer, recipe); // the recipe's held-out demonstrations give its validation loss
  trained = { model, steps: probe.totalSteps, valLoss: (await probe.evaluate()).val_loss };
  probe.dispose();
} else trained = await sft(recipe, 'SFT');
const after = await following(trained.model, tokenizer, `SFT (${trained.steps} steps)`);

const pretrainedReport = JSON.parse(readFileSync(args.base!.replace(/\.safetensors$/, '.json'), 'utf8'));
const note = `shipped mini SFT checkpoint: ${trained.steps.toLocaleString('en')} SFT steps after the shipped pretrained model`;
const bytes = encodeCheckpoint(await checkpointOf(trained.model, tokenizer, 'policy', new Map(), note));
writeFileSync(args.out!, bytes);
const report = {
  // the pretraining figures the app shows for a shipped checkpoint (the SFT model's pretraining)
  steps: pretrainedReport.steps,
  valLoss: pretrainedReport.valLoss,
  note,
  backend,
  sft: { ...recipe, steps: trained.steps, valLoss: trained.valLoss },
  following: {
    pretrained: before.share,
    defaults: defaults.share,
    defaultsSteps: withDefaults.steps,
    sft: after.share,
    prompts: after.prompts,
    constraints: after.total,
    byKind: { pretrained: before.byKind, defaults: defaults.byKind, sft: after.byKind },
    sampling: 'temperature 1, seed 5, one response per prompt (scripts/ship-sft.ts)',
  },
  bytes: bytes.length,
  samples: prompts.slice(0, 3).map((p, i) => p + after.responses[i]),
};
writeFileSync(args.out!.replace(/\.safetensors$/, '.json'), JSON.stringify(report, null, 2) + '\n');
console.log(JSON.stringify({ ...report, samples: undefined }, null, 2));
