/**
 * The tfjs backend of the unit tests: wasm (SIMD; single-threaded in Node, where tfjs-wasm never loads its
 * threaded build), 10-30x faster than the pure-JS cpu backend. No fallback: a test that asked for wasm and
 * ran on cpu would pass while measuring something else, so a wasm that cannot start fails the file.
 * useCpuBackend is for the tests of the cpu backend itself (backend-cpu.test.ts).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels } from '../../src/lib/model/wasmKernels';

async function useBackend(name: 'wasm' | 'cpu'): Promise<string> {
  installWasmKernels(); // the app's wasm kernels (workers/backend.ts installs the same)
  tf.env().set('PROD', true); // silences the "install tfjs-node" banner (IS_TEST would turn on kernel leak checks)
  const started = await tf.setBackend(name).catch((err: unknown) => {
    throw new Error(`tfjs's ${name} backend failed to start: ${err instanceof Error ? err.message : String(err)}`);
  });
  if (!started) throw new Error(`tfjs's ${name} backend did not start (tf.setBackend('${name}') returned false)`);
  await tf.ready();
  if (tf.getBackend() !== name) throw new Error(`asked for tfjs's ${name} backend, got ${tf.getBackend()}`);
  return name;
}

export const useWasmBackend = (): Promise<string> => useBackend('wasm');
export const useCpuBackend = (): Promise<string> => useBackend('cpu');
