/**
 * Counts what one piece of work costs the tfjs WebGPU backend: compute dispatches (kernels that
 * really ran on the GPU, not reshapes or CPU-forwarded ops), uploads of CPU data into GPU
 * buffers, and read-backs. On any other backend it returns null.
 */
import * as tf from '@tensorflow/tfjs';

export interface GpuWork {
  dispatches: number;
  uploads: number;
  readbacks: number;
}

interface WebGpuBackendLike {
  recordAndSubmit(...args: unknown[]): void;
  uploadToGPU(dataId: unknown): void;
  getBufferData(...args: unknown[]): Promise<unknown>;
  tensorMap: { get(dataId: unknown): { resource?: unknown; values?: unknown } };
}

export async function countGpuWork(work: () => Promise<unknown>): Promise<GpuWork | null> {
  if (tf.getBackend() !== 'webgpu') return null;
  const backend = tf.backend() as unknown as WebGpuBackendLike;
  const counts: GpuWork = { dispatches: 0, uploads: 0, readbacks: 0 };
  const { recordAndSubmit, uploadToGPU, getBufferData } = backend;
  backend.recordAndSubmit = function (...args) {
    counts.dispatches++;
    return recordAndSubmit.apply(this, args);
  };
  backend.uploadToGPU = function (dataId) {
    const data = this.tensorMap.get(dataId);
    if (data.resource == null && data.values != null) counts.uploads++;
    return uploadToGPU.call(this, dataId);
  };
  backend.getBufferData = function (...args) {
    counts.readbacks++;
    return getBufferData.apply(this, args);
  };
  try {
    await work();
  } finally {
    // Own properties shadowed the prototype's methods; deleting them restores the originals.
    delete (backend as Partial<WebGpuBackendLike>).recordAndSubmit;
    delete (backend as Partial<WebGpuBackendLike>).uploadToGPU;
    delete (backend as Partial<WebGpuBackendLike>).getBufferData;
  }
  return counts;
}
