/**
 * `npm run bench:gpu:bundle`: scripts/bench-gpu.ts and everything it imports (this project, tfjs,
 * the peer, Dawn's JS wrapper) as one ES module, bench-results/bench-gpu.mjs, with Dawn's native
 * dawn.node copied beside it where the wrapper looks for it (dist/<platform>-<arch>/). Carry the
 * folder to a GPU machine and run `node bench-gpu.mjs` there: no npm needed.
 */
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

const out = 'bench-results/bench-gpu.mjs';
await build({
  entryPoints: ['scripts/bench-gpu.ts'],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Some bundled CommonJS calls require(); give the ES module one.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  logLevel: 'warning',
  logOverride: {
    'unsupported-dynamic-import': 'silent',
    'unsupported-require-call': 'silent',
    'direct-eval': 'silent',
    'empty-import-meta': 'silent',
  },
  define: { 'import.meta.env': '{}' },
});
const arch = process.platform === 'darwin' ? 'universal' : process.arch;
const dawn = `dist/${process.platform}-${arch}/dawn.node`;
mkdirSync(dirname(`bench-results/${dawn}`), { recursive: true });
copyFileSync(`node_modules/webgpu/${dawn}`, `bench-results/${dawn}`);
console.log(`wrote ${out} and bench-results/${dawn}`);
