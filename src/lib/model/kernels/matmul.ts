/**
 * Matrix products for software WebGPU adapters (SwiftShader, lavapipe: WebGPU without a GPU). tfjs's matMul
 * kernels stage tiles in workgroup memory between barriers, which a software adapter runs slowly; here each thread
 * computes a 4 × 4 tile of the output straight from storage, with no workgroup memory. BatchMatMul and
 * _FusedMatMul (bias, no activation) are routed here once installSoftwareMatMul has run; every other case
 * (an activation, prelu, a broadcast beyond one side's single matrix, non-float input) goes to tfjs's kernel.
 */
import * as tf from '@tensorflow/tfjs';
import { program, WORKGROUP, type Uniform, type WebGpuBackendLike } from './program';

const TILE = 4;

/** Adapter names that mean a CPU implements WebGPU: the products go tile by tile there. */
export function isSoftwareAdapter(adapter: string): boolean {
  return /swiftshader|llvmpipe|lavapipe|software/i.test(adapter);
}

const TILE_CODE = (withBias: boolean) => `
  fn aAt(base : i32, row : i32, i : i32) -> f32 { return a[base + row * uniforms.aRow + i * uniforms.aInner]; }
  fn bAt(base : i32, i : i32, col : i32) -> f32 { return b[base + i * uniforms.bInner + col * uniforms.bCol]; }
  fn main(index : i32) {
    let tilesN = (uniforms.n + ${TILE - 1}) / ${TILE};
    let perMatrix = ((uniforms.m + ${TILE - 1}) / ${TILE}) * tilesN;
    if (index >= uniforms.batch * perMatrix) { return; }
    let entry = index / perMatrix;
    let row0 = ((index % perMatrix) / tilesN) * ${TILE};
    let col0 = (index % tilesN) * ${TILE};
    let aBase = entry * uniforms.aBatch;
    let bBase = entry * uniforms.bBatch;
    let rows = min(vec4<i32>(row0, row0 + 1, row0 + 2, row0 + 3), vec4<i32>(uniforms.m - 1));
    let cols = min(vec4<i32>(col0, col0 + 1, col0 + 2, col0 + 3), vec4<i32>(uniforms.n - 1));
    var acc : array<vec4<f32>, ${TILE}>;
    for (var i = 0; i < uniforms.k; i++) {
      let bv = vec4<f32>(bAt(bBase, i, cols.x), bAt(bBase, i, cols.y), bAt(bBase, i, cols.z), bAt(bBase, i, cols.w));
      acc[0] += aAt(aBase, rows.x, i) * bv;
      acc[1] += aAt(aBase, rows.y, i) * bv;
      acc[2] += aAt(aBase, rows.z, i) * bv;
      acc[3] += aAt(aBase, rows.w, i) * bv;
    }
    for (var r = 0; r < ${TILE}; r++) {
      for (var c = 0; c < ${TILE}; c++) {
        if (row0 + r < uniforms.m && col0 + c < uniforms.n) {
          result[(entry * uniforms.m + row0 + r) * uniforms.n + col0 + c] = acc[r][c]${withBias ? ' + bias[col0 + c]' : ''};
        }
      }
    }
  }`;

const UNIFORMS = 'batch : i32, m : i32, k : i32, n : i32, aBatch : i32, aRow : i32, aInner : i32, bBatch : i32, bInner : i32, bCol : i32,';

/** The program for `batch` products [m, k] · [k, n], with their layouts in storage, and its uniforms. */
function tileProgram(dims: { batch: number; m: number; k: number; n: number }, layout: Layout, withBias: boolean) {
  const { batch, m, k, n } = dims;
  const ints = [
    batch,
    m,
    k,
    n,
    layout.aBatched ? m * k : 0,
    layout.transposeA ? 1 : k,
    layout.transposeA ? m : 1,
    layout.bBatched ? k * n : 0,
    layout.transposeB ? 1 : n,
    layout.transposeB ? k : 1,
  ];
  const groups = Math.ceil((batch * Math.ceil(m / TILE) * Math.ceil(n / TILE)) / WORKGROUP);
  const variables = withBias ? ['a', 'b', 'bias'] : ['a', 'b'];
  return {
    program: program(`rlhf_tile_matmul_${withBias}`, variables, [batch, m, n], UNIFORMS, TILE_CODE(withBias), groups),
    uniforms: ints.map((v): Uniform => ({ type: 'int32', data: [v] })),
  };
}

interface Layout {
  transposeA: boolean;
  transposeB: boolean;
  /** false: one matrix for every entry of the batch (broadcast) */
  aBatched: boolean;
  bBatched: boolean;
}

const product = (dims: number[]) => dims.reduce((p, d) => p * d, 1);

interface MatMulArgs {
  inputs: { a: tf.TensorInfo; b: tf.TensorInfo; bias?: tf.TensorInfo; preluActivationWeights?: tf.TensorInfo };
  backend: unknown;
  attrs: { transposeA: boolean; transposeB: boolean; activation?: string };
}

/** a · b (each [..., rows, cols], transposed as asked) plus bias [n], tile by tile; null for a case tfjs keeps. */
function tileMatMul({ inputs, backend, attrs }: MatMulArgs): tf.TensorInfo | null {
  const { a, b, bias, preluActivationWeights } = inputs;
  const { transposeA, transposeB, activation } = attrs;
  if ((activation ?? 'linear') !== 'linear' || preluActivationWeights || a.dtype !== 'float32' || b.dtype !== 'float32') return null;
  const outer = tf.backend_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const [batch, aEntries, bEntries] = [outer, a.shape.slice(0, -2), b.shape.slice(0, -2)].map(product);
  const m = a.shape[a.shape.length - (transposeA ? 1 : 2)];
  const k = a.shape[a.shape.length - (transposeA ? 2 : 1)];
  const n = b.shape[b.shape.length - (transposeB ? 2 : 1)];
  const sidesFit = [aEntries, bEntries].every((e) => e === batch || e === 1);
  if (!sidesFit || m * k * n === 0 || (bias && (bias.dtype !== 'float32' || product(bias.shape) !== n))) return null;
  const layout = { transposeA, transposeB, aBatched: aEntries > 1, bBatched: bEntries > 1 };
  const { program: p, uniforms } = tileProgram({ batch, m, k, n }, layout, bias !== undefined);
  const out = (backend as WebGpuBackendLike).runWebGPUProgram(p, bias ? [a, b, bias] : [a, b], 'float32', uniforms);
  return { ...out, shape: [...outer, m, n] };
}

let installed = false;

/** Routes webgpu's BatchMatMul and _FusedMatMul through tileMatMul (idempotent); the rest stays with tfjs. */
export function installSoftwareMatMul(): void {
  if (installed) return;
  for (const name of ['BatchMatMul', '_FusedMatMul']) {
    const original = tf.getKernel(name, 'webgpu');
    if (!original) throw new Error(`tfjs-backend-webgpu is not loaded: its ${name} kernel is missing.`);
    tf.unregisterKernel(name, 'webgpu');
    tf.registerKernel({
      ...original,
      kernelFunc: (args) => tileMatMul(args as unknown as MatMulArgs) ?? (original.kernelFunc(args) as tf.TensorInfo),
    });
  }
  installed = true;
}
