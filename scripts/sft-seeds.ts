/**
 * How much does a run with SFT's defaults teach, over seeds? Runs SFT with its defaults on the shipped mini model
 * once per seed and measures instruction following as scripts/ship-sft.ts does (64 held-out instructions,
 * temperature 1, sampling seed 5), then writes the figures (each seed's share, mean, min, max) into the shipped SFT
 * report (public/checkpoints/sft.json, `following.defaultsOverSeeds`), the one source the SFT card reads.
 * The report is rewritten after every seed, so a run cut short still leaves the seeds it finished, and a later run
 * adds its seeds to those already there (a seed measured again replaces its figure).
 *
 *   npx tsx scripts/sft-seeds.ts                   # seeds 1-5
 *   npx tsx scripts/sft-seeds.ts --seeds 1,2,3
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeCheckpoint, modelFromCheckpoint } from '../src/lib/model/checkpoint';
import { heldOutFollowingPrompts, measureInstructionFollowing } from '../src/lib/rlhf/instructionEval';
import { SftStage } from '../src/lib/rlhf/sft';
import { STORIES_ONLY } from '../src/lib/data/tasks/mix';
import { useNodeBackend } from './node-backend';

const { values: args } = parseArgs({
  options: {
    base: { type: 'string', default: 'public/checkpoints/default.safetensors' },
    report: { type: 'string', default: 'public/checkpoints/sft.json' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    prompts: { type: 'string', default: '64' },
  },
});

const backend = await useNodeBackend();
const base = decodeCheckpoint(new Uint8Array(readFileSync(args.base!)));
const prompts = heldOutFollowingPrompts(Number(args.prompts));
const seeds = args.seeds!.split(',').map(Number);
const earlier = JSON.parse(readFileSync(args.report!, 'utf8')).following.defaultsOverSeeds;
const runs: { seed: number; share: number; steps: number }[] = (earlier?.seeds ?? [])
  .map((seed: number, i: number) => ({ seed, share: earlier.shares[i], steps: earlier.steps }))
  .filter((r: { seed: number }) => !seeds.includes(r.seed));

function writeReport() {
  runs.sort((a, b) => a.seed - b.seed);
  const shares = runs.map((r) => r.share);
  const report = JSON.parse(readFileSync(args.report!, 'utf8'));
  report.following.defaultsOverSeeds = {
    seeds: runs.map((r) => r.seed),
    shares,
    mean: shares.reduce((a, b) => a + b, 0) / shares.length,
    min: Math.min(...shares),
    max: Math.max(...shares),
    steps: runs[0].steps,
    prompts: prompts.length,
    backend,
    sampling: 'SFT defaults with the seed given; instruction following at temperature 1, seed 5 (scripts/sft-seeds.ts)',
  };
  writeFileSync(args.report!, JSON.stringify(report, null, 2) + '\n');
}

for (const seed of seeds) {
  const started = performance.now();
  const model = modelFromCheckpoint(base);
  const stage = new SftStage(model, base.tokenizer, { seed, instruction_prompts: 0, task_mix: STORIES_ONLY });
  while (stage.stepsDone < stage.totalSteps) await stage.step();
  const steps = stage.totalSteps;
  stage.dispose();
  const report = await measureInstructionFollowing(model, base.tokenizer, prompts, { temperature: 1, seed: 5 });
  model.dispose();
  const seconds = (performance.now() - started) / 1000;
  runs.push({ seed, share: report.share, steps });
  console.log(`seed ${seed}: ${(100 * report.share).toFixed(1)} % (${report.honoured}/${report.total}), ${seconds.toFixed(0)} s`);
  writeReport();
}
