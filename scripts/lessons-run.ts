/**
 * Runs the lessons (src/lib/lessons) on a checkpoint in Node and prints each lesson's summary sentence and run time.
 *
 *   npx tsx scripts/lessons-run.ts                       # all six on public/checkpoints/default.safetensors, wasm
 *   npx tsx scripts/lessons-run.ts --checkpoint tests/fixtures/tiny-pretrained.safetensors   # tiny sizes
 *   npx tsx scripts/lessons-run.ts --lesson over-optimisation --labeler dog-lover
 *   TF_BACKEND=cpu npx tsx scripts/lessons-run.ts --checkpoint tests/fixtures/tiny-pretrained.safetensors
 * --series prints every run's metric series as JSON lines as well.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { decodeCheckpoint, modelFromCheckpoint } from '../src/lib/model/checkpoint';
import { buildLessons, LessonRunner, sizesFor, worldLessonContext } from '../src/lib/lessons';
import { PRESETS } from '../src/lib/model/config';
import { useNodeBackend } from './node-backend';

const { values: args } = parseArgs({
  options: {
    checkpoint: { type: 'string', default: 'public/checkpoints/default.safetensors' },
    lesson: { type: 'string', multiple: true },
    labeler: { type: 'string', default: 'dog-lover' },
    series: { type: 'boolean', default: false },
    sizes: { type: 'string' }, // tiny | mini (default: from the checkpoint's shape)
  },
});

async function main(): Promise<void> {
  const backend = await useNodeBackend();
  const ckpt = decodeCheckpoint(new Uint8Array(readFileSync(args.checkpoint!)));
  const policy = modelFromCheckpoint(ckpt);
  const ctx = worldLessonContext(policy, ckpt.tokenizer, { labeler: args.labeler });
  const { nLayer, nEmbd } = ckpt.config;
  const preset = args.sizes ?? (nLayer === PRESETS.tiny.nLayer && nEmbd === PRESETS.tiny.nEmbd ? 'tiny' : 'mini');
  if (preset !== 'tiny' && preset !== 'mini') throw new Error(`--sizes must be tiny or mini, got ${preset}`);
  const LESSONS = buildLessons(sizesFor(preset));
  const chosen = args.lesson?.length ? LESSONS.filter((l) => args.lesson!.includes(l.id)) : LESSONS;
  if (chosen.length === 0) throw new Error(`no such lesson; known: ${LESSONS.map((l) => l.id).join(', ')}`);
  console.log(
    `${args.checkpoint} (${ckpt.config.nLayer} layers, d ${ckpt.config.nEmbd}, context ${ckpt.config.blockSize}) on ${backend}, labeler ${ctx.labeler.id}, ${preset} sizes`,
  );
  for (const lesson of chosen) {
    const runner = new LessonRunner(lesson, ctx);
    const started = performance.now();
    try {
      await runner.runAll();
      const seconds = (performance.now() - started) / 1000;
      const perRun = runner.records.map((r) => `${r.id} ${r.seconds.toFixed(0)} s`).join(', ');
      console.log(`\n[${lesson.id}] ${lesson.title}: ${seconds.toFixed(0)} s (${perRun})\n  ${runner.summary()}`);
      if (args.series) for (const r of runner.records) console.log(JSON.stringify({ lesson: lesson.id, run: r.id, series: r.series }));
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
