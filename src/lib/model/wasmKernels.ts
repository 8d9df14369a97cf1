/**
 * Two tfjs-wasm kernels routed to XNNPACK (SIMD, on its thread pool). tfjs-wasm sends a matMul there only for
 * one 2-D product without transposes; everything else, attention's [B, H, T, T] products and their gradients
 * included, runs a scalar loop on one thread. BatchMatMul here transposes a transposed operand once for the
 * whole batch and registers each entry's slice of the heap as a tensor of its own (no copy), so that every entry
 * takes the fast path. Sum over leading axes (a bias gradient: [rows, cols] -> [cols]) transposes and then
 * reduces on one thread; here it is ones[1, rows] . x[rows, cols].
 */
import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-wasm's backend this kernel reaches into (not in its public types). */
interface WasmModule {
  cwrap(name: string, ret: null, args: string[]): (...args: unknown[]) => void;
  tfjs: { registerTensor(id: number, size: number, memoryOffset: number): void; disposeData(id: number): void };
}
interface WasmBackend {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: Float32Array): tf.TensorInfo;
  disposeData(dataId: object): boolean;
}
interface MatMulArgs {
  inputs: { a: tf.TensorInfo; b: tf.TensorInfo };
  backend: WasmBackend;
  attrs: { transposeA: boolean; transposeB: boolean };
}

const KERNEL = 'BatchMatMul';
const SUM = 'Sum';
const FLOAT_BYTES = 4;
/** tfjs-wasm's exported BatchMatMul, per backend instance (a failed threaded start makes a second one). */
const exported = new WeakMap<WasmBackend, (...args: unknown[]) => void>();
let installed = false;

function cMatMul(backend: WasmBackend): (...args: unknown[]) => void {
  let call = exported.get(backend);
  if (!call) {
    call = backend.wasm.cwrap(KERNEL, null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']);
    exported.set(backend, call);
  }
  return call;
}

const product = (dims: number[]) => dims.reduce((n, d) => n * d, 1);
const shapeBytes = (shape: number[]) => new Uint8Array(new Int32Array(shape).buffer);

/** x as [batch, rows, cols], transposed to [batch, cols, rows] when asked; what it allocated goes into `temps`. */
function asBatch(x: tf.TensorInfo, shape: number[], transpose: boolean, backend: WasmBackend, temps: tf.TensorInfo[]): tf.TensorInfo {
  const reshape = tf.getKernel('Reshape', 'wasm')!.kernelFunc;
  const flat = reshape({ inputs: { x }, backend: backend as never, attrs: { shape } }) as tf.TensorInfo;
  temps.push(flat);
  if (!transpose) return flat;
  const transposeKernel = tf.getKernel('Transpose', 'wasm')!.kernelFunc;
  const turned = transposeKernel({ inputs: { x: flat }, backend: backend as never, attrs: { perm: [0, 2, 1] } }) as tf.TensorInfo;
  temps.push(turned);
  return turned;
}

/** A slice of the heap as a tensor id of its own, for the C side; disposed right after use. */
function view(backend: WasmBackend, memoryOffset: number, size: number): number {
  const id = backend.dataIdNextNumber++;
  backend.wasm.tfjs.registerTensor(id, size, memoryOffset);
  return id;
}

function batchMatMulByEntry(original: tf.KernelFunc, args: MatMulArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { a, b } = inputs;
  const { transposeA, transposeB } = attrs;
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = product(outer);
  const rows = a.shape[a.shape.length - (transposeA ? 1 : 2)];
  const inner = a.shape[a.shape.length - (transposeA ? 2 : 1)];
  const cols = b.shape[b.shape.length - (transposeB ? 2 : 1)];
  const plain = batch === 1 && !transposeA && !transposeB; // tfjs-wasm's own fast path, which caches packed weights
  const broadcast = product(a.shape.slice(0, -2)) !== batch || product(b.shape.slice(0, -2)) !== batch;
  if (plain || broadcast || a.dtype !== 'float32' || b.dtype !== 'float32' || rows * inner * cols === 0)
    return original(args as never) as tf.TensorInfo;

  const temps: tf.TensorInfo[] = [];
  const a3 = asBatch(a, transposeA ? [batch, inner, rows] : [batch, rows, inner], transposeA, backend, temps);
  const b3 = asBatch(b, transposeB ? [batch, cols, inner] : [batch, inner, cols], transposeB, backend, temps);
  const out = backend.makeOutput([batch, rows, cols], 'float32');
  const [aAt, bAt, outAt] = [a3, b3, out].map((t) => backend.dataIdMap.get(t.dataId).memoryOffset);
  const matMul = cMatMul(backend);
  const aShape = shapeBytes([1, rows, inner]);
  const bShape = shapeBytes([1, inner, cols]);
  for (let i = 0; i < batch; i++) {
    const ids = [
      view(backend, aAt + i * rows * inner * FLOAT_BYTES, rows * inner),
      view(backend, bAt + i * inner * cols * FLOAT_BYTES, inner * cols),
      view(backend, outAt + i * rows * cols * FLOAT_BYTES, rows * cols),
    ];
    matMul(ids[0], aShape, 3, ids[1], bShape, 3, 0, 0, ids[2]);
    ids.forEach((id) => backend.wasm.tfjs.disposeData(id)); // also frees the XNNPACK operator made for this b
  }
  temps.forEach((t) => backend.disposeData(t.dataId));
  return { ...out, shape: [...outer, rows, cols] };
}

interface SumArgs {
  inputs: { x: tf.TensorInfo };
  backend: WasmBackend;
  attrs: { axis: number | number[]; keepDims: boolean };
}

/** How many leading axes `axis` names when it names exactly the first k < rank axes, else 0. */
function leadingAxes(shape: number[], axis: number | number[]): number {
  const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + shape.length : a)))].sort((p, q) => p - q);
  return axes.length < shape.length && axes.every((a, i) => a === i) ? axes.length : 0;
}

function sumOverRows(original: tf.KernelFunc, args: SumArgs): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x } = inputs;
  const reduced = leadingAxes(x.shape, attrs.axis);
  if (!reduced || x.dtype !== 'float32' || product(x.shape) === 0) return original(args as never) as tf.TensorInfo;
  const rows = product(x.shape.slice(0, reduced));
  const kept = x.shape.slice(reduced);
  const cols = product(kept);
  const ones = backend.makeOutput([1, rows], 'float32', undefined, new Float32Array(rows).fill(1));
  const out = backend.makeOutput([1, cols], 'float32');
  const offset = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset;
  // x under an id of its own: XNNPACK's operator cache keys on the id alone, and x may be a matMul's b elsewhere
  const ids = [view(backend, offset(ones), rows), view(backend, offset(x), rows * cols), view(backend, offset(out), cols)];
  cMatMul(backend)(ids[0], shapeBytes([1, 1, rows]), 3, ids[1], shapeBytes([1, rows, cols]), 3, 0, 0, ids[2]);
  ids.forEach((id) => backend.wasm.tfjs.disposeData(id));
  backend.disposeData(ones.dataId);
  const shape = attrs.keepDims ? [...Array<number>(reduced).fill(1), ...kept] : kept;
  return { ...out, shape };
}

/** Replaces one of tfjs-wasm's kernels with `ours`, which may hand a case back to the original. */
function replaceKernel<A>(name: string, ours: (original: tf.KernelFunc, args: A) => tf.TensorInfo): void {
  const original = tf.getKernel(name, 'wasm');
  if (!original) throw new Error(`tfjs-wasm is not loaded: its ${name} kernel is missing.`);
  tf.unregisterKernel(name, 'wasm');
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    setupFunc: original.setupFunc,
    kernelFunc: (args) => ours(original.kernelFunc, args as unknown as A),
  });
}

/** Installs both kernels (idempotent); matMul's and sum's gradients go through them too. */
export function installWasmKernels(): void {
  if (installed) return;
  replaceKernel(KERNEL, batchMatMulByEntry);
  replaceKernel(SUM, sumOverRows);
  installed = true;
}
