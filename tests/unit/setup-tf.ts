/** Every unit test runs tfjs on the pure-JS cpu backend, as the library runs in Node. */
import * as tf from '@tensorflow/tfjs';

export async function useCpuBackend(): Promise<void> {
  tf.env().set('PROD', true); // silences the "install tfjs-node" banner
  await tf.setBackend('cpu');
  await tf.ready();
}
