/**
 * Does a checkpoint answer the task families (data/tasks)? Samples one response to each held-out task prompt and
 * grades it: per family the share correct, and the share of closed-domain responses with a made-up fact; then the
 * same after SFT on demonstrations of the mix (TASK_MIX; --mix-closed weighs the six non-story families alike, --mix
 * takes a task_mix setting's text). --story-chars shortens the input stories for the tiny model's 64 tokens.
 *
 *   npx tsx scripts/task-check.ts --checkpoint /tmp/mixed/default.safetensors --per-family 32 --demos 2048
 *   npx tsx scripts/task-check.ts --checkpoint tests/fixtures/tiny-pretrained-long.safetensors --per-family 64 \
 *     --demos 4096 --lr 3e-3 --mix closed_qa:1,extraction:1 --story-chars 100      # sft-tasks-learning.test.ts's recipe
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FAMILY_BY_ID, TASK_FAMILIES } from '../src/lib/data/tasks/families';
import { summariseGrades } from '../src/lib/data/tasks/grade';
import { generateTasks, mixFrom, mixOfSetting, TASK_MIX, type Task, STORIES_ONLY } from '../src/lib/data/tasks/mix';
import { decodeCheckpoint, modelFromCheckpoint } from '../src/lib/model/checkpoint';
import type { GPT } from '../src/lib/model/gpt';
import { sampleResponses } from '../src/lib/rlhf/instructionEval';
import { SftStage } from '../src/lib/rlhf/sft';
import { useNodeBackend } from './node-backend';

const { values: args } = parseArgs({
  options: {
    checkpoint: { type: 'string', default: 'public/checkpoints/default.safetensors' },
    'per-family': { type: 'string', default: '32' },
    demos: { type: 'string', default: '2048' },
    lr: { type: 'string', default: '1e-3' },
    seed: { type: 'string', default: '1' },
    'mix-closed': { type: 'boolean', default: false },
    mix: { type: 'string' },
    'story-chars': { type: 'string' },
  },
});

const backend = await useNodeBackend();
const ckpt = decodeCheckpoint(new Uint8Array(readFileSync(args.checkpoint!)));
const model = modelFromCheckpoint(ckpt);
const tokenizer = ckpt.tokenizer;
const perFamily = Number(args['per-family']);
const storyChars = args['story-chars'] ? Number(args['story-chars']) : undefined;
// held-out tasks: a stream (seed 90210) that no demonstration stream uses, the same count of each family
const heldOut: Task[] = TASK_FAMILIES.flatMap((f) => generateTasks(90210, perFamily, mixFrom({ [f]: 1 }), storyChars));

async function report(label: string, policy: GPT): Promise<void> {
  const started = performance.now();
  const prompts = heldOut.map((t) => t.prompt);
  const responses = await sampleResponses(policy, tokenizer, prompts, { temperature: 1, seed: 5 });
  const s = summariseGrades(prompts.map((prompt, i) => ({ prompt, response: responses[i] })));
  const families = TASK_FAMILIES.map((f) => `${f} ${(100 * s.byFamily[f].rate).toFixed(0)} %`).join(', ');
  console.log(
    `${label}: correct ${families}; made-up facts ${s.madeUp.count}/${s.madeUp.total} = ${(100 * s.madeUp.rate).toFixed(1)} % (${((performance.now() - started) / 1000).toFixed(0)} s)`,
  );
  for (const f of TASK_FAMILIES.filter((f) => FAMILY_BY_ID[f].closedDomain)) {
    const i = heldOut.findIndex((t) => t.family === f);
    console.log(`  e.g. ${JSON.stringify(prompts[i] + responses[i])}`);
  }
}

console.log(`${backend}, ${args.checkpoint}, ${perFamily} held-out prompts per family`);
await report('before SFT', model);
const closedMix = () => mixFrom(Object.fromEntries(TASK_FAMILIES.map((f) => [f, 1])));
const mix = args.mix ? mixOfSetting(args.mix) : args['mix-closed'] ? closedMix() : TASK_MIX;
const demos = generateTasks(Number(args.seed) + 1000, Number(args.demos), mix, storyChars).map(({ prompt, response }) => ({
  prompt,
  response,
}));
const started = performance.now();
const stage = new SftStage(
  model,
  tokenizer,
  { seed: Number(args.seed), learning_rate: Number(args.lr), demonstrations: 8, instruction_prompts: 0, task_mix: STORIES_ONLY },
  demos,
);
while (stage.stepsDone < stage.totalSteps) await stage.step();
console.log(
  `SFT: ${stage.totalSteps} steps on ${demos.length} task demonstrations (+8 stories) in ${((performance.now() - started) / 1000).toFixed(0)} s`,
);
await report('after SFT', model);
