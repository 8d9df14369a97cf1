/**
 * Runs the lessons (src/lib/lessons) on a checkpoint in Node and prints each lesson's summary sentence and run time.
 *
 *   npx tsx scripts/lessons-run.ts                       # all six on public/checkpoints/default.safetensors, wasm
 *   npx tsx scripts/lessons-run.ts --checkpoint tests/fixtures/tiny-pretrained.safetensors   # tiny sizes
 *   npx tsx scripts/lessons-run.ts --lesson over-optimisation --labeler dog-lover
 *   npx tsx scripts/lessons-run.ts --sizes mini-cpu --lesson win-rate --progress --override '{"winRatePrompts":32}'
 *   TF_BACKEND=cpu npx tsx scripts/lessons-run.ts --checkpoint tests/fixtures/tiny-pretrained.safetensors
 * --series prints every run's metric series as JSON lines as well.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeCheckpoint, modelFromCheckpoint } from '../src/lib/model/checkpoint';
import { buildLessons, LessonRunner, sizesFor, worldLessonContext, type LessonSizes } from '../src/lib/lessons';
import { PRESETS } from '../src/lib/model/config';
import { useNodeBackend } from './node-backend';

const { values: args } = parseArgs({
  options: {
    checkpoint: { type: 'string', default: 'public/checkpoints/default.safetensors' },
    lesson: { type: 'string', multiple: true },
    labeler: { type: 'string', default: 'dog-lover' },
    series: { type: 'boolean', default: false },
    sizes: { type: 'string' }, // tiny | mini | mini-cpu (default: from the checkpoint's shape)
    // JSON merged over the sizes, e.g. '{"iterations":{"overOptimisation":12,"frontier":6,"alignmentTax":6,"winRate":8}}'
    override: { type: 'string' },
    // one line per step: run, step, seconds
    progress: { type: 'boolean', default: false },
  },
});

async function main(): Promise<void> {
  const backend = await useNodeBackend();
  const ckpt = decodeCheckpoint(new Uint8Array(readFileSync(args.checkpoint!)));
  const policy = modelFromCheckpoint(ckpt);
  const ctx = worldLessonContext(policy, ckpt.tokenizer, { labeler: args.labeler });
  const { nLayer, nEmbd } = ckpt.config;
  const preset = args.sizes ?? (nLayer === PRESETS.tiny.nLayer && nEmbd === PRESETS.tiny.nEmbd ? 'tiny' : 'mini');
  if (preset !== 'tiny' && preset !== 'mini' && preset !== 'mini-cpu')
    throw new Error(`--sizes must be tiny, mini or mini-cpu, got ${preset}`);
  const sizes = { ...sizesFor(preset), ...(args.override ? (JSON.parse(args.override) as Partial<LessonSizes>) : {}) };
  const LESSONS = buildLessons(sizes);
  const chosen = args.lesson?.length ? LESSONS.filter((l) => args.lesson!.includes(l.id)) : LESSONS;
  if (chosen.length === 0) throw new Error(`no such lesson; known: ${LESSONS.map((l) => l.id).join(', ')}`);
  console.log(
    `${args.checkpoint} (${ckpt.config.nLayer} layers, d ${ckpt.config.nEmbd}, context ${ckpt.config.blockSize}) on ${backend}, labeler ${ctx.labeler.id}, ${preset} sizes`,
  );
  for (const lesson of chosen) {
    const runner = new LessonRunner(lesson, ctx);
    const started = performance.now();
    try {
      let last = performance.now();
      await runner.runAll((r) => {
        if (!args.progress) return;
        const now = performance.now();
        const run = r.records.findLast((x) => x.stepsDone > 0);
        console.log(
          `  ${run?.id} ${run?.stepsDone}/${run?.totalSteps}: ${((now - last) / 1000).toFixed(1)} s (${((now - started) / 1000).toFixed(0)} s)`,
        );
        last = now;
      });
      const seconds = (performance.now() - started) / 1000;
      const perRun = runner.records.map((r) => `${r.id} ${r.seconds.toFixed(0)} s`).join(', ');
      console.log(`\n[${lesson.id}] ${lesson.title}: ${seconds.toFixed(0)} s (${perRun})\n  ${runner.summary()}`);
      if (args.series) for (const r of runner.records) console.log(JSON.stringify({ lesson: lesson.id, run: r.id, points: r.points }));
    } finally {
      runner.dispose();
    }
  }
  policy.dispose();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
