/** Picks a tfjs backend in Node for scripts: wasm (SIMD, ~30x the pure-JS cpu backend here) unless asked otherwise. */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { installWasmKernels } from '../src/lib/model/wasmKernels';

export async function useNodeBackend(name = process.env.TF_BACKEND ?? 'wasm'): Promise<string> {
  installWasmKernels(); // as the app's worker does
  tf.env().set('PROD', true); // silences the "install tfjs-node" banner (IS_TEST would turn on kernel leak checks)
  if (!(await tf.setBackend(name))) throw new Error(`backend ${name} is not available`);
  await tf.ready();
  return tf.getBackend();
}
