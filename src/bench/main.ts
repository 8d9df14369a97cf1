/** The benchmark page: runs workers/bench.worker.ts with the URL's options and shows the JSON it returns. */
import * as Comlink from 'comlink';
import type { BenchApi, BenchOptions } from '../../workers/bench.worker';

const params = new URLSearchParams(location.search);
const options: BenchOptions = {
  backend: (params.get('backend') ?? 'webgpu') as BenchOptions['backend'],
  preset: (params.get('preset') ?? 'tiny') as BenchOptions['preset'],
  batchSize: Number(params.get('batch') ?? 8),
  trainSteps: Number(params.get('steps') ?? 10),
  memorySteps: Number(params.get('memorySteps') ?? 50),
  sampleTokens: Number(params.get('sampleTokens') ?? 32),
  ppo: params.get('ppo') !== '0',
  ppoDefaults: params.get('ppoDefaults') === '1',
  threads: params.get('threads') !== '1',
  ...(params.has('threadedStartMs') ? { threadedStartMs: Number(params.get('threadedStartMs')) } : {}),
};
const out = document.getElementById('results')!;
const worker = new Worker(new URL('../../workers/bench.worker.ts', import.meta.url), { type: 'module' });
const bench = Comlink.wrap<BenchApi>(worker);
bench
  .run(
    options,
    Comlink.proxy((line: string) => (out.textContent = line)),
  )
  .then((result) => {
    out.textContent = JSON.stringify(result, null, 2);
    (window as unknown as { benchResult: unknown }).benchResult = result;
  })
  .catch((err: Error) => {
    out.textContent = `error: ${err.message}`;
    (window as unknown as { benchResult: unknown }).benchResult = { error: err.message };
  });
