/**
 * `npm run bench`: in headless Chromium, for a fixed preset and batch, measures on each available
 * backend the training and sampling tokens per second, cached against full-context sampling,
 * memory after 10 against after 50 steps, and one PPO-ptx iteration split into sample / score /
 * update. Prints a table and writes bench-results/bench.json.
 *
 *   npm run bench -- --preset tiny --batch 8 --backends webgpu,webgl,wasm,cpu
 *   npm run bench -- --preset mini --batch 16 --backends wasm --ppoDefaults   # wasm on threads against one thread
 * wasm runs twice in the same browser, on threads (cross-origin isolated, as the app is served) and on one thread
 * (--threads on|off|both, default both), and the ratio of the two is printed.
 * Needs a built app (npm run build) and Chromium (CHROME_PATH, else /usr/bin/chromium).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import { CHROME_PATH } from '../playwright.config';

const { values: args } = parseArgs({
  options: {
    preset: { type: 'string', default: 'tiny' },
    batch: { type: 'string', default: '8' },
    steps: { type: 'string', default: '10' },
    memorySteps: { type: 'string', default: '50' },
    sampleTokens: { type: 'string', default: '32' },
    ppo: { type: 'boolean', default: true },
    ppoDefaults: { type: 'boolean', default: false }, // PPO-ptx at the stage's defaults instead of --batch and --sampleTokens
    threads: { type: 'string', default: 'both' },
    backends: { type: 'string', default: 'webgpu,webgl,wasm,cpu' },
    gpu: { type: 'boolean', default: false }, // a machine with a real GPU: Vulkan flags instead of SwiftShader
    out: { type: 'string', default: 'bench-results/bench.json' },
  },
});

const PORT = 4174;
// its own process group: npx's child (vite) must end with it
const server = spawn('npx', ['vite', 'preview', '--port', String(PORT), '--strictPort'], { stdio: 'ignore', detached: true });
await new Promise((resolve) => setTimeout(resolve, 2500));

const flags = [
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
if (args.gpu) flags.push('--enable-features=Vulkan', '--use-angle=vulkan', '--disable-vulkan-surface', '--ignore-gpu-blocklist');
const browser = await chromium.launch({ executablePath: CHROME_PATH, args: flags });
const results: Record<string, unknown>[] = [];
try {
  const wasmThreads = args.threads === 'both' ? [true, false] : [args.threads !== 'off'];
  const runs = args
    .backends!.split(',')
    .flatMap((backend) => (backend === 'wasm' ? wasmThreads : [true]).map((threads) => ({ backend, threads })));
  for (const { backend, threads } of runs) {
    const page = await browser.newPage();
    const query = new URLSearchParams({
      backend,
      preset: args.preset!,
      batch: args.batch!,
      steps: args.steps!,
      memorySteps: args.memorySteps!,
      sampleTokens: args.sampleTokens!,
      ppo: args.ppo ? '1' : '0',
      ppoDefaults: args.ppoDefaults ? '1' : '0',
      threads: threads ? 'auto' : '1',
    });
    await page.goto(`http://127.0.0.1:${PORT}/bench.html?${query}`);
    console.log(`${backend}: running…`);
    const handle = await page.waitForFunction(() => (window as unknown as { benchResult?: unknown }).benchResult, null, {
      timeout: 1_800_000,
      polling: 1000,
    });
    const result = (await handle.jsonValue()) as Record<string, unknown>;
    results.push({ requested: backend, ...result });
    if (result.backend === 'wasm' && threads && result.threads === 1)
      console.log('wasm: threads were asked for, but it runs on one thread');
    console.log(`${backend}:`, result.error ?? 'done');
    await page.close();
  }
} finally {
  await browser.close();
  process.kill(-server.pid!);
}

const columns: [string, string, (v: unknown) => string][] = [
  ['backend', 'backend', String],
  ['threads', 'threads', String],
  ['train_tokens_per_s', 'train tok/s', (v) => Number(v).toFixed(0)],
  ['train_step_ms', 'step ms', (v) => Number(v).toFixed(0)],
  ['train_gflops_per_s', 'train GFLOP/s', (v) => Number(v).toFixed(2)],
  ['matmul_gflops_per_s', 'matMul GFLOP/s', (v) => Number(v).toFixed(1)],
  ['sample_tokens_per_s_cached', 'sample tok/s (cached)', (v) => Number(v).toFixed(1)],
  ['sample_tokens_per_s_full', 'sample tok/s (full)', (v) => Number(v).toFixed(1)],
  ['cached_over_full', 'cached/full', (v) => Number(v).toFixed(2) + 'x'],
  ['memory_n_over_10', 'mem N/10 steps', (v) => Number(v).toFixed(3)],
  ['kernels_per_train_step', 'kernels/step', String],
  ['ppo_sample_s', 'PPO sample s', (v) => Number(v).toFixed(2)],
  ['ppo_score_s', 'PPO score s', (v) => Number(v).toFixed(2)],
  ['ppo_update_s', 'PPO update s', (v) => Number(v).toFixed(2)],
  ['ppo_iteration_s', 'PPO iteration s', (v) => Number(v).toFixed(2)],
];
console.log(
  `\npreset ${args.preset}, batch ${args.batch}; adapter: ${results.map((r) => `${r.backend ?? r.requested}=${r.adapter ?? r.error}`).join(', ')}`,
);
console.log('| ' + columns.map((c) => c[1]).join(' | ') + ' |');
console.log('|' + columns.map(() => '---').join('|') + '|');
for (const r of results)
  console.log(
    '| ' +
      columns
        .map(([key, , fmt]) => (r[key] === undefined ? (key === 'backend' ? String(r.requested) + ' (failed)' : '–') : fmt(r[key])))
        .join(' | ') +
      ' |',
  );
const threaded = results.find((r) => r.backend === 'wasm' && Number(r.threads) > 1);
const single = results.find((r) => r.backend === 'wasm' && r.threads === 1);
if (threaded && single) {
  const ratio = (key: string, higherIsBetter = true) =>
    (higherIsBetter ? Number(threaded[key]) / Number(single[key]) : Number(single[key]) / Number(threaded[key])).toFixed(2) + 'x';
  console.log(
    `\nwasm on ${String(threaded.threads)} threads against one thread, same browser: training ${ratio('train_tokens_per_s')}, ` +
      `cached sampling ${ratio('sample_tokens_per_s_cached')}, matMul ${ratio('matmul_gflops_per_s')}` +
      (threaded.ppo_iteration_s ? `, one PPO-ptx iteration ${ratio('ppo_iteration_s', false)}` : ''),
  );
}
mkdirSync('bench-results', { recursive: true });
writeFileSync(args.out!, JSON.stringify({ date: new Date().toISOString(), options: args, results }, null, 2) + '\n');
console.log(`\nwrote ${args.out}`);
