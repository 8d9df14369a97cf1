/**
 * Which learning rates still train? Runs a stage on the tiny pretrained fixture at each learning rate asked for
 * (the stage's defaults otherwise) and reports the first loss, the mean of the last five, the held-out figure
 * before and after, and whether the divergence watch (src/lib/train/divergence.ts) flags the run. The highest
 * accepted learning rate of each stage's settings is chosen from these runs.
 *
 *   npx tsx scripts/lr-ceiling.ts --stage sft --lrs 1e-3,3e-3,0.01,0.03,0.1
 *   npx tsx scripts/lr-ceiling.ts --stage reward --lrs 1e-3,0.01,0.1
 *   npx tsx scripts/lr-ceiling.ts --stage pretrain --lrs 3e-3,0.01,0.03,0.1 --steps 300   (from fresh weights)
 *   npx tsx scripts/lr-ceiling.ts --stage ppo --lrs 1e-4,1e-3,0.01,0.05 --iterations 20
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { labelerById } from '../src/lib/data/labelers';
import { generatePrompts } from '../src/lib/data/world';
import { configFromPreset } from '../src/lib/model/config';
import { decodeCheckpoint, modelFromCheckpoint } from '../src/lib/model/checkpoint';
import { GPT } from '../src/lib/model/gpt';
import { PpoStage } from '../src/lib/rlhf/ppo';
import { RewardModel } from '../src/lib/rlhf/rewardModel';
import { RewardStage } from '../src/lib/rlhf/rewardTrainer';
import { shortAnswerRankings } from '../src/lib/rlhf/shortAnswerRankings';
import { SftStage } from '../src/lib/rlhf/sft';
import { STORIES_ONLY } from '../src/lib/data/tasks/mix';
import { builtInCorpus, tokenizeCorpus } from '../src/lib/session/corpus';
import { DivergenceWatch } from '../src/lib/train/divergence';
import type { Metrics, Stage } from '../src/lib/train/loop';
import { PretrainStage } from '../src/lib/train/pretrain';
import { useNodeBackend } from './node-backend';

const { values: args } = parseArgs({
  options: {
    stage: { type: 'string', default: 'sft' },
    lrs: { type: 'string', default: '1e-3,0.01,0.1' },
    checkpoint: { type: 'string', default: 'tests/fixtures/tiny-pretrained.safetensors' },
    steps: { type: 'string', default: '300' },
    iterations: { type: 'string', default: '20' },
    rankings: { type: 'string', default: '80' },
    seed: { type: 'string', default: '1' },
  },
});

const seed = Number(args.seed);

/** The stage to measure, its training-loss metric and its held-out metric. */
function makeStage(lr: number): { stage: Stage; loss: string; heldOut: string; free: () => void } {
  const ckpt = decodeCheckpoint(new Uint8Array(readFileSync(args.checkpoint!)));
  const tokenizer = ckpt.tokenizer;
  const model = modelFromCheckpoint(ckpt);
  const corpus = () => tokenizeCorpus(tokenizer, 'builtin', 'built-in', builtInCorpus({ documents: 600 }).documents).tokens;
  switch (args.stage) {
    case 'sft':
      return {
        stage: new SftStage(model, tokenizer, { learning_rate: lr, seed, instruction_prompts: 0, task_mix: STORIES_ONLY }),
        loss: 'loss',
        heldOut: 'val_loss',
        free: () => model.dispose(),
      };
    case 'reward': {
      const rm = RewardModel.fromPolicy(model, seed);
      const stage = new RewardStage(rm, tokenizer, shortAnswerRankings(tokenizer, Number(args.rankings), seed), {
        learning_rate: lr,
        seed,
      });
      return { stage, loss: 'loss', heldOut: 'pair_accuracy', free: () => [rm, model].forEach((m) => m.dispose()) };
    }
    case 'pretrain': {
      model.dispose();
      const fresh = GPT.init(configFromPreset('tiny', tokenizer.vocabSize), seed);
      const stage = new PretrainStage(fresh, corpus(), { learning_rate: lr, steps: Number(args.steps), seed, eval_every: 1_000_000 });
      return { stage, loss: 'loss', heldOut: 'val_loss', free: () => fresh.dispose() };
    }
    case 'ppo': {
      const labeler = labelerById('dog-lover');
      const prompts = generatePrompts(31, 256).filter((p) => tokenizer.encode(p).length <= 16);
      const stage = new PpoStage({
        policy: model,
        tokenizer,
        prompts,
        rewardFunction: (prompt, response) => labeler.gold(prompt + response),
        pretrainTokens: corpus().train,
        settings: { learning_rate: lr, iterations: Number(args.iterations), seed },
      });
      return { stage, loss: 'ptx/loss', heldOut: 'objective/scores', free: () => model.dispose() };
    }
    default:
      throw new Error(`unknown stage ${args.stage}`);
  }
}

const backend = await useNodeBackend();
console.log(`${backend}, stage ${args.stage}, ${args.checkpoint}`);
for (const lr of args.lrs!.split(',').map(Number)) {
  const { stage, loss, heldOut, free } = makeStage(lr);
  const started = performance.now();
  const before = stage.evaluate ? (await stage.evaluate())[heldOut] : NaN;
  const watch = new DivergenceWatch();
  const losses: number[] = [];
  let last: Metrics = {};
  while (stage.stepsDone < stage.totalSteps) {
    last = await stage.step();
    losses.push(last[loss]);
    watch.add(last[loss]);
    if (!Number.isFinite(last[loss])) break;
  }
  const after = stage.evaluate ? (await stage.evaluate())[heldOut] : last[heldOut];
  const tail = losses.slice(-5);
  const verdict = watch.verdict();
  console.log(
    `lr ${lr}: ${losses.length} steps, ${loss} ${losses[0]?.toFixed(3)} -> ${(tail.reduce((s, x) => s + x, 0) / tail.length).toFixed(3)}` +
      ` (min ${Math.min(...losses).toFixed(3)}), ${heldOut} ${before?.toFixed?.(3)} -> ${after?.toFixed?.(3)}` +
      `, ${verdict ? 'FLAGGED' : 'not flagged'}, ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  stage.dispose();
  free();
}
