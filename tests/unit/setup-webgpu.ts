/**
 * The webgpu backend in Node through Dawn (npm `webgpu`), on whatever Vulkan driver there is:
 * SwiftShader from Debian's chromium package on a machine without a GPU. vitest.config.ts puts
 * chromium's Vulkan loader on LD_LIBRARY_PATH for the test processes where the system has none.
 * useWebGpuBackend returns null when the backend is webgpu, else the reason the WebGPU tests cannot run.
 */
import * as tf from '@tensorflow/tfjs';
import { describeAdapter, installDawn } from '../../scripts/gpu/dawn';

async function useWebGpuBackend(): Promise<string | null> {
  try {
    const adapter = await installDawn(true);
    if (!adapter) return 'Dawn found no WebGPU adapter (no Vulkan loader or driver: install chromium, or libvulkan1 and a driver)';
    await import('@tensorflow/tfjs-backend-webgpu');
    tf.env().set('PROD', true);
    if (!(await tf.setBackend('webgpu'))) return 'tf.setBackend("webgpu") failed';
    await tf.ready();
    console.log(`WebGPU tests on ${describeAdapter(adapter)}`);
    return null;
  } catch (err) {
    return `WebGPU through Dawn failed: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * useWebGpuBackend for a test file's top level: null when the backend is webgpu, else the reason, warned, for the file
 * to skip its tests. With CI=true (CI has SwiftShader through Debian's chromium) no WebGPU fails the file instead.
 */
export async function webGpuOrSkipReason(tests: string): Promise<string | null> {
  const reason = await useWebGpuBackend();
  if (reason === null) return null;
  if (process.env.CI === 'true') throw new Error(`${tests} tests: CI=true requires WebGPU, and it is missing here: ${reason}`);
  console.warn(`\n*** ${tests} tests SKIPPED: ${reason} ***\n`);
  return reason;
}

/** Largest absolute difference between two tensors' values. */
export async function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const d = tf.max(tf.abs(tf.sub(a, b)));
  const value = (await d.data())[0];
  d.dispose();
  return value;
}

/**
 * Value and gradients of f at `inputs`, against a fixed random upstream gradient so that every
 * output element's gradient path is exercised: [f(x), d(sum(f(x) * w))/dx for each x].
 */
export function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed = 7): tf.Tensor[] {
  return tf.tidy(() => {
    const value = f(...inputs);
    const w = tf.randomUniform(value.shape, -1, 1, 'float32', seed);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), w)))(inputs);
    return [value, ...grads];
  });
}
