/**
 * Which WebGPU programs one training step dispatches, and how many of each: the list that kernel
 * fusion works down. Runs on Dawn (SwiftShader is fine: counts do not depend on speed).
 *
 *   LD_LIBRARY_PATH=/usr/lib/chromium npx tsx scripts/gpu/kernels.ts --preset mini --batch 1
 * (LD_LIBRARY_PATH only where the system has no Vulkan loader; bench:gpu sets it up itself.)
 */
import { parseArgs } from 'node:util';
import { describeAdapter, installDawn } from './dawn';

const { values: args } = parseArgs({ options: { preset: { type: 'string', default: 'mini' }, batch: { type: 'string', default: '1' } } });
const adapter = await installDawn(true);
if (!adapter) throw new Error('no WebGPU adapter (set LD_LIBRARY_PATH to a folder with libvulkan.so.1)');
const tf = await import('@tensorflow/tfjs');
await import('@tensorflow/tfjs-backend-webgpu');
const { configFromPreset } = await import('../../src/lib/model/config');
const { GPT } = await import('../../src/lib/model/gpt');
const { lmLoss } = await import('../../src/lib/model/logprobs');
const { AdamW, readStep } = await import('../../src/lib/train/adamw');
tf.env().set('PROD', true);
await tf.setBackend('webgpu');
const config = configFromPreset(args.preset as 'mini', 512);
const model = GPT.init(config, 1);
const opt = new AdamW(model.variables());
const batch = Number(args.batch);
const ids = tf.tensor2d(
  Int32Array.from({ length: batch * config.blockSize }, (_, i) => (i * 7) % 511),
  [batch, config.blockSize],
  'int32',
);
const step = () => readStep(opt.step(() => ({ loss: lmLoss(model, ids, ids) }), 1e-3));
await step(); // compile

const backend = tf.backend() as unknown as {
  recordAndSubmit(program: { constructor: { name: string }; shaderKey?: string }, ...rest: unknown[]): void;
};
const original = backend.recordAndSubmit;
const byProgram = new Map<string, number>();
backend.recordAndSubmit = function (program, ...rest) {
  const name = program.constructor.name;
  byProgram.set(name, (byProgram.get(name) ?? 0) + 1);
  return original.call(this, program, ...rest);
};
await step();
backend.recordAndSubmit = original;
const total = [...byProgram.values()].reduce((a, b) => a + b, 0);
console.log(`${describeAdapter(adapter)}; preset ${args.preset}, batch ${batch}: ${total} dispatches per training step`);
for (const [name, n] of [...byProgram].sort((a, b) => b[1] - a[1])) console.log(`${String(n).padStart(5)}  ${name}`);

// Cached decoding: the work of 8 more tokens over that of 1, per token.
const { sample } = await import('../../src/lib/model/sampler');
const { countGpuWork } = await import('../../src/bench/gpuCounters');
const prompts = Array.from({ length: batch }, () => [1, 2]);
const decode = (tokens: number) =>
  countGpuWork(() => sample(model, prompts, { maxNewTokens: tokens, temperature: 1, topK: 0, seed: 1, eosId: 511 }));
await decode(2); // compile
const [one, nine] = [await decode(1), await decode(9)];
const per = (key: 'dispatches' | 'uploads' | 'readbacks') => ((nine![key] - one![key]) / 8).toFixed(1);
console.log(`cached decoding, per token: ${per('dispatches')} dispatches, ${per('uploads')} uploads, ${per('readbacks')} read-backs`);
process.exit(0);
