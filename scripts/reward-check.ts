/**
 * How well does a reward model learn a simulated labeler's rankings, as the app collects them?
 * Loads a checkpoint, samples K completions per prompt from it the way the app's ranking queue does
 * (prompts generatePrompts(7, ...), temperature 1, up to 48 new tokens), ranks them with each labeler at
 * 100 % agreement (noise 0), trains a fresh reward model with the given settings and prints held-out pair
 * accuracy with its pairs, rankings and 95 % interval.
 *
 *   npx tsx scripts/reward-check.ts --rankings 80 --labelers happy-endings,short-answers
 *   npx tsx scripts/reward-check.ts --epochs 2 --lr 3e-4 --per-batch 4      # the defaults before issue #9
 *   TF_BACKEND=cpu npx tsx scripts/reward-check.ts --checkpoint tests/fixtures/tiny-pretrained.safetensors
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { LABELERS, labelerById, rankCompletions } from '../src/lib/data/labelers';
import { Rng } from '../src/lib/data/rng';
import { generatePrompts } from '../src/lib/data/world';
import { decodeCheckpoint, modelFromCheckpoint } from '../src/lib/model/checkpoint';
import { sample } from '../src/lib/model/sampler';
import type { Ranking } from '../src/lib/rlhf/rankings';
import { RewardModel } from '../src/lib/rlhf/rewardModel';
import { hashFraction as idFraction } from '../src/lib/data/hash';
import { RewardStage, type RewardSettings } from '../src/lib/rlhf/rewardTrainer';
import { isIndistinguishableFromChance } from '../src/lib/rlhf/stats';
import { encodePair } from '../src/lib/rlhf/sequences';
import { useNodeBackend } from './node-backend';

const { values: args } = parseArgs({
  options: {
    checkpoint: { type: 'string', default: 'public/checkpoints/default.safetensors' },
    labelers: { type: 'string', default: LABELERS.map((l) => l.id).join(',') },
    rankings: { type: 'string', default: '80' },
    k: { type: 'string', default: '4' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    'per-batch': { type: 'string' },
    'held-out': { type: 'string' },
    'weight-decay': { type: 'string' },
    seed: { type: 'string', default: '1' },
    'data-seed': { type: 'string', default: '7' },
    'max-new': { type: 'string', default: '48' },
    temperature: { type: 'string', default: '1' },
    time: { type: 'string' },
    'max-completions': { type: 'string' },
    incremental: { type: 'boolean', default: false },
    cache: { type: 'string' }, // JSON file: sampled completions are read from it when it exists, else written to it
    'diagnose-only': { type: 'boolean', default: false },
    'eval-every': { type: 'string', default: '0' },
    'extra-held-out': { type: 'string', default: '0' }, // more rankings, all held out, for a tighter estimate (not trained on)
    'no-eos': { type: 'boolean', default: false }, // experiment: read the reward at the last response token, not an appended eos
  },
});

const backend = await useNodeBackend();
if (args['no-eos']) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  (RewardStage.prototype as any).encode = function (this: { tokenizer: typeof tokenizer }, r: Ranking) {
    return { id: r.id, pairs: r.completions.map((c) => encodePair(this.tokenizer, r.prompt, c.trim() ? c : ' .', false)), order: r.order };
  };
}
const ckpt = decodeCheckpoint(new Uint8Array(readFileSync(args.checkpoint!)));
const policy = modelFromCheckpoint(ckpt);
const tokenizer = ckpt.tokenizer;
const K = Number(args.k);
const count = Number(args.rankings);
const settings: Partial<RewardSettings> = { seed: Number(args.seed) };
if (args.epochs) settings.epochs = Number(args.epochs);
if (args.lr) settings.learning_rate = Number(args.lr);
if (args['per-batch']) settings.rankings_per_batch = Number(args['per-batch']);
if (args['held-out']) settings.held_out_share = Number(args['held-out']);
if (args['weight-decay']) settings.weight_decay = Number(args['weight-decay']);

// Completions as the app's queue samples them: one prompt, K samples, in batches of 8 prompts.
const t0 = performance.now();
const extra = Number(args['extra-held-out']);
const prompts = generatePrompts(Number(args['data-seed']), count + extra);
const cached = args.cache && existsSync(args.cache) ? (JSON.parse(readFileSync(args.cache, 'utf8')) as string[][]) : null;
const completions: string[][] = cached ? cached.slice(0, count + extra) : [];
if (cached && completions.length < count + extra) throw new Error(`the cache holds ${completions.length} rankings`);
for (let start = 0; !cached && start < count + extra; start += 8) {
  const chunk = prompts.slice(start, start + 8);
  const rows = chunk.flatMap((p) => new Array<number[]>(K).fill(tokenizer.encode(p)));
  const maxNewTokens = Math.min(Number(args['max-new']), policy.config.blockSize - Math.max(...rows.map((r) => r.length)));
  const { completions: out } = await sample(policy, rows, {
    maxNewTokens,
    temperature: Number(args.temperature),
    topK: 0,
    seed: 7919 * (start + 1),
    eosId: tokenizer.eosId,
  });
  if (process.env.VERBOSE) console.log(`sampled ${start + chunk.length} prompts, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  chunk.forEach((_, i) =>
    completions.push(out.slice(i * K, (i + 1) * K).map((c) => tokenizer.decode(c.filter((t) => t !== tokenizer.eosId)))),
  );
}
if (args.cache && !cached) writeFileSync(args.cache, JSON.stringify(completions));
const sampleSeconds = (performance.now() - t0) / 1000;
console.log(
  `${backend}, ${args.checkpoint} (${ckpt.config.nLayer}x${ckpt.config.nEmbd}), ${count} prompts x K=${K} sampled in ${sampleSeconds.toFixed(0)} s; settings ${JSON.stringify(settings)}`,
);
console.log(`example: ${JSON.stringify(prompts[0] + completions[0][0])}`);

for (const id of args.labelers!.split(',')) {
  const labeler = labelerById(id);
  const rng = new Rng(1);
  // Extra held-out rankings get ids that hash into the held-out share (idFraction < 0.01).
  let next = 0;
  const heldOutId = () => {
    while (idFraction(`h${next}`) >= 0.01) next++;
    return `h${next++}`;
  };
  const all: Ranking[] = prompts.map((prompt, i) => ({
    id: i < count ? `r${i}` : heldOutId(),
    prompt,
    completions: completions[i],
    order: rankCompletions(
      labeler,
      completions[i].map((c) => prompt + c),
      { noise: 0, rng },
    ),
    createdAt: 0,
    source: 'labeler',
    labelerId: id,
  }));
  const rankings = all.slice(0, count);
  // How much the labeler's gold varies within a ranking, and how many pairs it cannot tell apart.
  let ties = 0;
  let pairsAll = 0;
  let spread = 0;
  for (const [i, r] of rankings.entries()) {
    const golds = completions[i].map((c) => labeler.gold(prompts[i] + c));
    for (let a = 0; a < K; a++) {
      for (let b = a + 1; b < K; b++) {
        pairsAll++;
        if (Math.abs(golds[a] - golds[b]) < 1e-9) ties++;
      }
    }
    spread += (Math.max(...golds) - Math.min(...golds)) / rankings.length;
    void r;
  }
  const ended = completions.flat().filter((c) => /[.!?]"?\s*$/.test(c)).length / completions.flat().length;
  console.log(
    `${id}: tied pairs ${ties}/${pairsAll}, mean gold range within a ranking ${spread.toFixed(3)}, completions ending a sentence ${(100 * ended).toFixed(0)} %`,
  );
  if (args['diagnose-only']) continue;
  const t1 = performance.now();
  const rm = RewardModel.fromPolicy(policy, Number(args.seed));
  const options = {
    maxCompletions: args['max-completions'] ? Number(args['max-completions']) : undefined,
    time: args.time ? Number(args.time) : undefined,
  };
  let stage: RewardStage;
  if (args.incremental) {
    // As in the app with a reward model already trained on the first two rankings: each new ranking runs update().
    stage = new RewardStage(rm, tokenizer, rankings.slice(0, 2), settings, options);
    while (stage.stepsDone < stage.totalSteps) await stage.step();
    for (const r of rankings.slice(2)) {
      stage.addRankings([r]);
      await stage.update();
    }
  } else {
    stage = new RewardStage(rm, tokenizer, rankings, settings, options);
    const every = Number(args['eval-every']);
    while (stage.stepsDone < stage.totalSteps) {
      const m = await stage.step();
      if (every > 0 && stage.stepsDone % every === 0 && stage.stepsDone < stage.totalSteps) {
        const e = await stage.evaluateHeldOut();
        console.log(
          `  step ${stage.stepsDone}: loss ${m.loss.toFixed(3)} held-out ${(100 * e.pair_accuracy).toFixed(1)} % margin ${e.margin.toFixed(3)} (${((performance.now() - t1) / 1000).toFixed(0)} s)`,
        );
      }
    }
  }
  const onlyApp = await stage.evaluateHeldOut();
  stage.addRankings(all.slice(count));
  const m = await stage.evaluateHeldOut();
  if (extra > 0) console.log(`  the app's own held-out share: ${(100 * onlyApp.pair_accuracy).toFixed(1)} % of ${onlyApp.pairs} pairs`);
  const seconds = (performance.now() - t1) / 1000;
  const verdict = isIndistinguishableFromChance({ low: m.pair_accuracy_low, high: m.pair_accuracy_high }) ? 'CHANCE' : 'above chance';
  console.log(
    `${id.padEnd(14)} acc ${(100 * m.pair_accuracy).toFixed(1)} % [${(100 * m.pair_accuracy_low).toFixed(1)}, ${(100 * m.pair_accuracy_high).toFixed(1)}] ` +
      `(naive [${(100 * m.pair_accuracy_naive_low).toFixed(1)}, ${(100 * m.pair_accuracy_naive_high).toFixed(1)}]) ${m.pairs} pairs / ${m.rankings} rankings (n_eff ${m.pairs_effective.toFixed(0)}), ` +
      `margin ${m.margin.toFixed(3)}, reward std ${m.reward_std.toFixed(3)}, train ${stage.counts.train}, steps ${stage.stepsDone}+${stage.updatesDone} upd, ${seconds.toFixed(0)} s: ${verdict}`,
  );
  stage.dispose();
  rm.dispose();
}
policy.dispose();
console.log(`tensors left ${tf.memory().numTensors}`);
