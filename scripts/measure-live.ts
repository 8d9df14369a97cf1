/**
 * Measures the live loop as a new user meets it, with the shipped mini model on ?backend=wasm (MEASURE_BACKEND=webgpu
 * for WebGPU): submit latency (click → next task on screen) during PPO-ptx, the gap between an iteration's last update
 * and the next one's sampling, the iteration's wall time, pause latency and resume latency; `uptime` beside them.
 * Builds the app, runs tests/browser/live-measure.spec.ts, prints test-results/live-figures.json.
 *   npx tsx scripts/measure-live.ts            (PW_PORT, MEASURE_SUBMITS, MEASURE_THINK_MS as for the tests)
 */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const env = { ...process.env, MEASURE_LIVE: '1' };
execSync('npx vite build --logLevel warn', { stdio: 'inherit', env });
execSync('npx playwright test tests/browser/live-measure.spec.ts', { stdio: 'inherit', env });
console.log(readFileSync('test-results/live-figures.json', 'utf8'));
// the machine's load beside the figures: they move with it
console.log(`uptime: ${execSync('uptime').toString().trim()}`);
