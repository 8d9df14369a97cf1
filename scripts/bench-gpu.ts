/**
 * `npm run bench:gpu`: the GPU benchmark without a browser, through Dawn (npm `webgpu`) in Node.
 * Runs this project and the peer @genai-fi/nanogpt at the same shape, each in its own process
 * (the peer bundles its own tfjs), prints the adapter, the figures and their ratios, and writes
 * bench-results/bench-gpu.json. Refuses to report a software adapter (SwiftShader) as a GPU
 * figure unless --allow-software is given.
 *
 *   npm run bench:gpu                                   # mini, batch 16: the shape
 *   npm run bench:gpu -- --allow-software --preset tiny --batch 4 --steps 2 ...   # SwiftShader
 * `npm run bench:gpu:bundle` makes bench-results/bench-gpu.mjs (one file, plus dawn.node beside
 * it) to run with a bare `node` on a GPU machine.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeAdapter, installDawn, vulkanEnv, type AdapterSummary } from './gpu/dawn';
import { PRESETS, type PresetName } from '../src/lib/model/config';

const { values: args } = parseArgs({
  options: {
    'allow-software': { type: 'boolean', default: false },
    preset: { type: 'string', default: 'mini' },
    batch: { type: 'string', default: '16' },
    steps: { type: 'string', default: '10' },
    'memory-steps': { type: 'string', default: '40' },
    'gen-tokens': { type: 'string', default: '64' },
    'sample-batch': { type: 'string', default: '16' },
    'sample-tokens': { type: 'string', default: '64' },
    ppo: { type: 'boolean', default: true },
    'no-ppo': { type: 'boolean', default: false },
    'ppo-batch': { type: 'string', default: '16' },
    'ppo-mini-batch': { type: 'string', default: '8' },
    'ppo-tokens': { type: 'string', default: '48' },
    peer: { type: 'boolean', default: true },
    'no-peer': { type: 'boolean', default: false },
    'peer-steps': { type: 'string' },
    part: { type: 'string' }, // internal: 'ours' or 'peer', run in a child process
    out: { type: 'string', default: 'bench-results/bench-gpu.json' },
  },
});

const int = (name: keyof typeof args) => Number(args[name]);
const preset = args.preset as PresetName;
if (!(preset in PRESETS)) throw new Error(`unknown preset ${preset}`);

/** A child process: sets up Dawn, refuses a software adapter unless allowed, prints "RESULT <json>". */
async function child(part: string): Promise<void> {
  const adapter = await installDawn(args['allow-software']);
  if (!adapter) throw new Error('Dawn offers no WebGPU adapter: no Vulkan driver found (see VK_DRIVER_FILES, LD_LIBRARY_PATH)');
  if (adapter.software && !args['allow-software']) {
    throw new Error(
      `the only adapter is a software one (${describeAdapter(adapter)}): its figures say nothing about a GPU. Pass --allow-software to run anyway.`,
    );
  }
  const log = (line: string) => process.stderr.write(line + '\n');
  let result: Record<string, unknown>;
  if (part === 'ours') {
    const { runOurs } = await import('./gpu/ours');
    result = await runOurs(
      {
        preset,
        batch: int('batch'),
        steps: int('steps'),
        memorySteps: int('memory-steps'),
        genTokens: int('gen-tokens'),
        sampleBatch: int('sample-batch'),
        sampleTokens: int('sample-tokens'),
        ppo: args.ppo! && !args['no-ppo'],
        ppoBatch: int('ppo-batch'),
        ppoMiniBatch: int('ppo-mini-batch'),
        ppoTokens: int('ppo-tokens'),
      },
      adapter,
      log,
    );
  } else {
    const { runPeer } = await import('./gpu/peer');
    const shape = PRESETS[preset];
    result = await runPeer(
      { ...shape, vocabSize: 512, batch: int('batch'), steps: Number(args['peer-steps'] ?? args.steps), genTokens: int('gen-tokens') },
      log,
    );
  }
  process.stdout.write('RESULT ' + JSON.stringify({ adapter, ...result }) + '\n');
}

/** Runs this same script with --part in a child with Dawn's Vulkan environment; resolves to its result. */
function runPart(part: string): Promise<Record<string, unknown>> {
  const argv = [...process.execArgv, process.argv[1], ...process.argv.slice(2), '--part', part];
  const env = { ...process.env, ...vulkanEnv(args['allow-software']!) };
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) resolve(JSON.parse(line.slice(7)));
      else reject(new Error(`${part} exited with ${code} and no result${out ? ': ' + out.slice(-2000) : ''}`));
    });
  });
}

const fmt = (v: unknown, digits = 1) => (typeof v === 'number' ? v.toFixed(digits) : '–');

function report(ours: Record<string, unknown>, peer: Record<string, unknown> | null): void {
  const adapter = ours.adapter as AdapterSummary;
  console.log(`\nadapter: ${describeAdapter(adapter)}${adapter.software ? '  (SOFTWARE: not a GPU figure)' : ''}`);
  console.log(`preset ${ours.preset}, batch ${ours.batch}, context ${ours.context}, ${ours.params} parameters\n`);
  const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' ? a / b : undefined);
  const trainRatio = ratio(ours.train_tokens_per_s, peer?.train_tokens_per_s);
  const genRatio = ratio(ours.generate_batch1_tokens_per_s, peer?.generate_batch1_tokens_per_s);
  const rows: [string, string, string, string][] = [
    ['train tok/s', fmt(ours.train_tokens_per_s, 0), fmt(peer?.train_tokens_per_s, 0), `ratio ${fmt(trainRatio, 2)}x (target >= 1.5x)`],
    ['train step ms', fmt(ours.train_step_ms, 0), fmt(peer?.train_step_ms, 0), ''],
    ['kernels / train step', String(ours.kernels_per_train_step), '', 'target <= 400'],
    ['uploads / train step', String(ours.uploads_per_train_step), '', ''],
    ['read-backs / train step', String(ours.readbacks_per_train_step), '', ''],
    [
      'kernel ms / train step',
      fmt(ours.kernel_ms_per_train_step),
      '',
      `GPU busy ${fmt(typeof ours.gpu_busy === 'number' ? 100 * ours.gpu_busy : undefined, 0)}% (target >= 50%)`,
    ],
    [
      'batch-1 cached generation tok/s',
      fmt(ours.generate_batch1_tokens_per_s),
      fmt(peer?.generate_batch1_tokens_per_s),
      `ratio ${fmt(genRatio, 2)}x (target >= 1.5x)`,
    ],
    [
      `sampling tok/s batch ${ours.sample_batch}, ${ours.sample_tokens} new: cached / full`,
      `${fmt(ours.sample_tokens_per_s_cached)} / ${fmt(ours.sample_tokens_per_s_full)}`,
      '',
      `${fmt(ours.cached_over_full, 2)}x (target >= 3x)`,
    ],
    [
      'PPO-ptx iteration s (sample / score / update)',
      `${fmt(ours.ppo_iteration_s, 2)} (${fmt(ours.ppo_sample_s, 2)} / ${fmt(ours.ppo_score_s, 2)} / ${fmt(ours.ppo_update_s, 2)})`,
      '',
      'target < 1.0 s',
    ],
    [
      `memory after ${ours.memory_steps} / after 10 steps`,
      fmt(ours.memory_n_over_10, 3),
      '',
      `tensors ${ours.tensors_after_10_steps} -> ${ours.tensors_after_n_steps}`,
    ],
  ];
  console.log('| figure | this project | peer | note |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

if (args.part) {
  await child(args.part);
  process.exit(0); // Dawn keeps the event loop alive
} else {
  // Checked here first, so that a missing driver or a software-only adapter fails before minutes of work.
  const probe = await runProbe();
  console.log(`adapter: ${describeAdapter(probe)}`);
  const ours = await runPart('ours');
  const peer = args.peer && !args['no-peer'] ? await runPart('peer') : null;
  report(ours, peer);
  mkdirSync('bench-results', { recursive: true });
  writeFileSync(args.out!, JSON.stringify({ date: new Date().toISOString(), options: args, ours, peer }, null, 2) + '\n');
  console.log(`\nwrote ${args.out}`);
  process.exit(0);
}

async function runProbe(): Promise<AdapterSummary> {
  // Without a system Vulkan loader only the children (started with LD_LIBRARY_PATH) can find one.
  const needsChild = 'LD_LIBRARY_PATH' in vulkanEnv(args['allow-software']!);
  const adapter = needsChild ? null : await installDawn(args['allow-software']).catch(() => null);
  if (!adapter) return { vendor: '(probed in the child)', architecture: '', device: '', description: '', software: false };
  if (adapter.software && !args['allow-software']) {
    console.error(
      `Refusing: the only adapter is a software one (${describeAdapter(adapter)}); its figures say nothing about a GPU. Pass --allow-software to run anyway.`,
    );
    process.exit(2);
  }
  return adapter;
}
