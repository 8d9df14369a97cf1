/**
 * Running our own WGSL programs on tfjs's WebGPU backend: a kernel is registered under a name for
 * the 'webgpu' backend only and called through the engine (so tidy, memory and tf.profile see it).
 * The programs follow tfjs's conventions: inputs are storage arrays named after variableNames,
 * the output is `result`, `main(index)` gets a flat global index, extra uniforms follow the
 * built-in ones in the order given.
 */
import * as tf from '@tensorflow/tfjs';

export const WORKGROUP = 64;

export interface WgslProgram {
  variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms?: string;
  size?: boolean;
  getUserCode(): string;
}

export type Uniform = { type: 'float32' | 'int32'; data: number[] };

export interface WebGpuBackendLike {
  runWebGPUProgram(program: WgslProgram, inputs: tf.TensorInfo[], dtype: tf.DataType, uniforms?: Uniform[]): tf.TensorInfo;
}

let fusedEnabled = true;

/** Turns the fused kernels off (composed ops on webgpu too): for tests that compare the two paths. */
export function setFusedKernels(enabled: boolean): void {
  fusedEnabled = enabled;
}

/** True where the fused kernels run: the webgpu backend. Every other backend keeps the composed ops. */
export function onWebGpu(): boolean {
  return fusedEnabled && tf.getBackend() === 'webgpu';
}

/** A program of `threads` independent threads, or `groups` workgroups of WORKGROUP threads that cooperate. */
export function program(
  key: string,
  variableNames: string[],
  outputShape: number[],
  uniforms: string,
  code: string,
  groups: number,
): WgslProgram {
  return {
    variableNames,
    outputShape,
    shaderKey: key,
    dispatchLayout: { x: outputShape.map((_, i) => i) },
    dispatch: [groups, 1, 1],
    workgroupSize: [WORKGROUP, 1, 1],
    uniforms,
    size: true,
    getUserCode: () => code,
  };
}

/** Enough workgroups for one thread per element of `shape`. */
export function perElement(shape: number[]): number {
  return Math.ceil(shape.reduce((a, b) => a * b, 1) / WORKGROUP);
}

/** Registers a webgpu kernel (once, even if this module is loaded twice) that builds its program from inputs and attributes. */
export function registerWgsl(
  name: string,
  build: (inputs: tf.TensorInfo[], attrs: Record<string, number>) => { program: WgslProgram; uniforms: Uniform[]; dtype?: tf.DataType },
  inputNames: string[],
): void {
  if (tf.getKernel(name, 'webgpu')) return;
  tf.registerKernel({
    kernelName: name,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const infos = inputNames.map((n) => inputs[n] as tf.TensorInfo);
      const { program: p, uniforms, dtype } = build(infos, (attrs ?? {}) as Record<string, number>);
      return (backend as unknown as WebGpuBackendLike).runWebGPUProgram(p, infos, dtype ?? 'float32', uniforms);
    },
  });
}

export function runWgsl<T extends tf.Tensor>(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): T {
  return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as T;
}

/** WGSL: a workgroup-wide sum of one value per thread (call from uniform control flow). */
export const WORKGROUP_SUM = `
  var<workgroup> partial : array<f32, ${WORKGROUP}>;
  fn workgroupSum(value : f32, tid : i32) -> f32 {
    partial[tid] = value;
    workgroupBarrier();
    for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride >> 1) {
      if (tid < stride) { partial[tid] = partial[tid] + partial[tid + stride]; }
      workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
  }
  fn workgroupMax(value : f32, tid : i32) -> f32 {
    partial[tid] = value;
    workgroupBarrier();
    for (var stride = ${WORKGROUP / 2}; stride > 0; stride = stride >> 1) {
      if (tid < stride) { partial[tid] = max(partial[tid], partial[tid + stride]); }
      workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
  }
`;
