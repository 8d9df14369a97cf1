/** tfjs's wasm backend for the slower learning tests: the same numbers as cpu here, 5-10x faster; cpu if wasm cannot start. */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';

export async function useWasmBackend(): Promise<string> {
  tf.env().set('PROD', true);
  try {
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return tf.getBackend();
    }
  } catch {
    // fall through to cpu
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return tf.getBackend();
}
