/**
 * The wasm kernels routed to XNNPACK (src/lib/model/wasmKernels.ts) against the definitions: BatchMatMul by batch
 * entry (every transpose combination, 3-D and 4-D batches, batch 1, broadcasting, gradients) and Sum over leading
 * axes as a product with ones (axes, keepDims, the cases handed back); no leaked tensors or heap views.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

/** a . b by the definition, for [..., M, K] . [..., K, N] with equal leading dims (or b 2-D). */
function reference(a: number[], aShape: number[], b: number[], bShape: number[], tA: boolean, tB: boolean): number[] {
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const [m, k, n] = [tA ? ac : ar, tA ? ar : ac, tB ? br : bc];
  const batch = aShape.slice(0, -2).reduce((x, y) => x * y, 1);
  const bBatch = bShape.slice(0, -2).reduce((x, y) => x * y, 1);
  const out: number[] = [];
  for (let e = 0; e < batch; e++) {
    const aAt = (i: number, j: number) => a[e * ar * ac + (tA ? j * ac + i : i * ac + j)];
    const eb = bBatch === 1 ? 0 : e;
    const bAt = (i: number, j: number) => b[eb * br * bc + (tB ? j * bc + i : i * bc + j)];
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += aAt(i, t) * bAt(t, j);
        out.push(s);
      }
  }
  return out;
}

function random(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

function expectClose(got: Float32Array | number[], want: number[]): void {
  expect(got.length).toBe(want.length);
  const worst = want.reduce((w, v, i) => Math.max(w, Math.abs(v - got[i])), 0);
  expect(worst).toBeLessThan(1e-4);
}

describe('wasm BatchMatMul by batch entry', () => {
  it('runs on wasm, with these kernels installed', () => {
    expect(tf.getBackend()).toBe('wasm');
    for (const name of ['BatchMatMul', 'Sum'])
      expect(tf.getKernel(name, 'wasm')?.kernelFunc.toString()).toContain('ours(original.kernelFunc');
  });

  const shapes: [string, number[], number[]][] = [
    ['3-D batch', [5, 7, 3], [5, 3, 4]],
    ['4-D batch (heads)', [2, 3, 6, 4], [2, 3, 4, 6]],
    ['batch 1', [1, 9, 5], [1, 5, 2]],
    ['2-D', [8, 5], [5, 3]],
  ];
  for (const [name, aShape, bShape] of shapes)
    for (const tA of [false, true])
      for (const tB of [false, true])
        it(`${name}, transposeA ${tA}, transposeB ${tB}: equals the definition`, () => {
          const turn = (s: number[], t: boolean) => (t ? [...s.slice(0, -2), s[s.length - 1], s[s.length - 2]] : s);
          const a = random(turn(aShape, tA), 1);
          const b = random(turn(bShape, tB), 2);
          const got = tf.matMul(a, b, tA, tB);
          expect(got.shape).toEqual([...aShape.slice(0, -1), bShape[bShape.length - 1]]);
          expectClose(got.dataSync() as Float32Array, reference([...a.dataSync()], a.shape, [...b.dataSync()], b.shape, tA, tB));
          tf.dispose([a, b, got]);
        });

  it('broadcasts a 2-D b over a batch as before', () => {
    const a = random([3, 4, 5], 3);
    const b = random([5, 2], 4);
    const got = tf.matMul(a, b);
    expect(got.shape).toEqual([3, 4, 2]);
    expectClose(got.dataSync() as Float32Array, reference([...a.dataSync()], a.shape, [...b.dataSync()], [1, 5, 2], false, false));
    tf.dispose([a, b, got]);
  });

  it("gives attention's gradients: d(sum(w * softmax(q k^T) v)) equals the cpu-free reference by finite differences", () => {
    const q = random([2, 2, 4, 3], 5);
    const k = random([2, 2, 4, 3], 6);
    const v = random([2, 2, 4, 3], 7);
    const w = random([2, 2, 4, 3], 8);
    const f = (qq: tf.Tensor) => tf.sum(tf.mul(w, tf.matMul(tf.softmax(tf.matMul(qq, k, false, true)), v)));
    const grad = tf.grad(f)(q);
    const eps = 1e-2;
    const base = q.dataSync();
    const numeric = [...base].map((_, i) => {
      const step = (sign: number) => {
        const moved = Float32Array.from(base);
        moved[i] += sign * eps;
        return tf.tidy(() => f(tf.tensor(moved, q.shape)).dataSync()[0]);
      };
      return (step(1) - step(-1)) / (2 * eps);
    });
    const analytic = grad.dataSync();
    const worst = numeric.reduce((m, x, i) => Math.max(m, Math.abs(x - analytic[i])), 0);
    expect(worst).toBeLessThan(2e-3);
    tf.dispose([q, k, v, w, grad]);
  });

  it('leaks no tensor and no heap view', () => {
    const a = random([4, 2, 8, 6], 9);
    const b = random([4, 2, 8, 6], 10);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const tensors = tf.memory().numTensors;
    const dataIds = backend.numDataIds();
    const bytes = tf.memory().numBytes;
    for (let i = 0; i < 5; i++) tf.matMul(a, b, false, true).dispose();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(dataIds);
    expect(tf.memory().numBytes).toBe(bytes);
    tf.dispose([a, b]);
  });
});

/** x summed over its first `k` axes, by the definition. */
function sumLeading(x: number[], shape: number[], k: number): number[] {
  const cols = shape.slice(k).reduce((a, b) => a * b, 1);
  const out = new Array<number>(cols).fill(0);
  x.forEach((v, i) => (out[i % cols] += v));
  return out;
}

describe('wasm Sum over leading axes', () => {
  const cases: [string, number[], number | number[], number][] = [
    ['a bias gradient, axis 0 of 2-D', [37, 6], 0, 1],
    ['the first two axes of 3-D', [3, 5, 4], [0, 1], 2],
    ['negative and unordered axes', [3, 5, 4], [1, -3], 2],
  ];
  for (const [name, shape, axis, k] of cases)
    for (const keepDims of [false, true])
      it(`${name}, keepDims ${keepDims}: equals the definition`, () => {
        const x = random(shape, 11);
        const got = tf.sum(x, axis, keepDims);
        expect(got.shape).toEqual(keepDims ? [...shape.slice(0, k).map(() => 1), ...shape.slice(k)] : shape.slice(k));
        expectClose(got.dataSync() as Float32Array, sumLeading([...x.dataSync()], shape, k));
        tf.dispose([x, got]);
      });

  it('hands other reductions back to tfjs-wasm: the last axis, every axis, int32', () => {
    const x = random([4, 3], 12);
    const values = [...x.dataSync()];
    expectClose(
      tf.sum(x, 1).dataSync() as Float32Array,
      [0, 1, 2, 3].map((r) => values.slice(3 * r, 3 * r + 3).reduce((a, b) => a + b)),
    );
    expectClose(tf.sum(x).dataSync() as Float32Array, [values.reduce((a, b) => a + b)]);
    expect([
      ...tf
        .sum(
          tf.tensor2d(
            [
              [1, 2],
              [3, 4],
            ],
            undefined,
            'int32',
          ),
          0,
        )
        .dataSync(),
    ]).toEqual([4, 6]);
    x.dispose();
  });

  it("gives a bias its gradient: d(sum(w * (x + b)))/db = sum of w's rows", () => {
    const x = random([9, 5], 13);
    const w = random([9, 5], 14);
    const b = random([5], 15);
    const grad = tf.grad((bb: tf.Tensor) => tf.sum(tf.mul(w, tf.add(x, bb))))(b);
    expectClose(grad.dataSync() as Float32Array, sumLeading([...w.dataSync()], [9, 5], 1));
    tf.dispose([x, w, b, grad]);
  });

  it('leaks no tensor and no heap memory', () => {
    const x = random([64, 32], 16);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const [tensors, dataIds, bytes] = [tf.memory().numTensors, backend.numDataIds(), tf.memory().numBytes];
    for (let i = 0; i < 5; i++) tf.sum(x, 0).dispose();
    expect([tf.memory().numTensors, backend.numDataIds(), tf.memory().numBytes]).toEqual([tensors, dataIds, bytes]);
    x.dispose();
  });
});
