/**
 * Picks the tfjs backend for this worker: webgpu, then webgl, then wasm, then cpu.
 * Every backend that was passed over leaves a reason, which the UI shows. Also watches the WebGPU
 * device: when it is lost, the worker says so (the UI then starts a fresh worker, which picks again).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { installWasmKernels } from '../src/lib/model/wasmKernels';
import { installSoftwareMatMul, isSoftwareAdapter } from '../src/lib/model/kernels/matmul';
import type { BackendInfo, BackendName } from '../src/lib/types';

export const BACKEND_ORDER: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

// Served by Vite from the app itself: no CDN.
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

/** How wasm may start: threaded where the page allows it (the default), or on one thread as asked. */
export interface WasmOptions {
  threads?: boolean;
  /** a threaded start that has not finished by then has failed (its pthread workers did not load) */
  threadedStartMs?: number;
}
const THREADED_START_MS = 20_000;

/** Why tfjs-wasm can run on one thread only here, or null when threads are possible. */
function threadsUnavailable(): string | null {
  if (!globalThis.crossOriginIsolated)
    return 'the page is not cross-origin isolated (the server sent no COOP/COEP headers), so WebAssembly threads are off';
  if (typeof SharedArrayBuffer === 'undefined') return 'this browser offers no SharedArrayBuffer, so WebAssembly threads are off';
  return null;
}

/** The wasm backend's start, kept so that a failed threaded start can be retried on one thread. */
const wasmFactory = tf.findBackendFactory('wasm');

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, fail) => setTimeout(() => fail(new Error(`${what} took over ${ms / 1000} s`)), ms)),
  ]);
}

interface Started {
  adapter: string;
  /** tfjs-wasm's thread count (XNNPACK's pool); absent on other backends */
  threads?: number;
  /** why this backend runs slower than it could (e.g. wasm on one thread) */
  note?: string;
}

/** Starts wasm threaded where the page allows it, else (or when threads fail to start) on one thread; says which and why. */
async function startWasm({ threads: wanted = true, threadedStartMs = THREADED_START_MS }: WasmOptions): Promise<Started> {
  installWasmKernels();
  let note = wanted ? threadsUnavailable() : 'as asked (?threads=1)';
  if (note) tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const threaded = note === null;
  const started = threaded
    ? await withTimeout(tf.setBackend('wasm'), threadedStartMs, 'the threaded start').catch(() => false)
    : await tf.setBackend('wasm');
  if (!started && threaded) {
    note = 'WebAssembly threads failed to start, so tfjs-wasm runs its single-thread build';
    tf.removeBackend('wasm');
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    tf.registerBackend('wasm', wasmFactory, 2);
  }
  if (!started && !(await tf.setBackend('wasm'))) throw new Error(`tf.setBackend('wasm') failed`);
  await tf.ready();
  const threads = getThreadsCount();
  const simd = (await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT')) ? ' SIMD' : '';
  return {
    adapter: `WebAssembly${simd} · ${threads} thread${threads === 1 ? '' : 's'}`,
    threads,
    ...(note ? { note: `wasm on one thread, ${note}` } : {}),
  };
}

async function webgpuAdapter(): Promise<string> {
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<{ info?: Record<string, string> } | null> } }).gpu;
  if (!gpu) throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
  const adapter = await gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter was offered (GPU blocklisted or WebGPU disabled)');
  const info = adapter.info ?? {};
  return [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unknown adapter';
}

function webglRenderer(): string {
  const gl = (tf.backend() as unknown as { gpgpu?: { gl: WebGLRenderingContext } }).gpgpu?.gl;
  if (!gl) return 'WebGL';
  const ext = gl.getExtension('WEBGL_debug_renderer_info');
  return String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
}

async function tryBackend(name: BackendName, wasm: WasmOptions): Promise<Started> {
  if (name === 'wasm') {
    const started = await startWasm(wasm);
    await probe(name);
    return started;
  }
  const adapter = name === 'webgpu' ? await webgpuAdapter() : '';
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
  await probe(name);
  if (name === 'webgl') return { adapter: webglRenderer() };
  if (name === 'cpu') return { adapter: 'plain JavaScript' };
  if (!isSoftwareAdapter(adapter)) return { adapter };
  installSoftwareMatMul();
  return {
    adapter,
    note: 'webgpu on a software adapter: a CPU stands in for the GPU (its matrix products run as 4 × 4 tiles per thread); ?backend=wasm trains faster here',
  };
}

/** A tiny op proves the backend computes, not only that it registered. */
async function probe(name: BackendName): Promise<void> {
  const sum = tf.add(tf.scalar(1), tf.scalar(2));
  const value = (await sum.data())[0];
  sum.dispose();
  if (value !== 3) throw new Error(`${name} computed 1 + 2 = ${value}`);
}

/** The first backend of `order` that works, starting at `preferred` when given. */
export async function pickBackend(preferred?: BackendName, wasm: WasmOptions = {}): Promise<BackendInfo> {
  const order = preferred ? BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(preferred)) : BACKEND_ORDER;
  const skipped: string[] = [];
  if (preferred && preferred !== 'webgpu') skipped.push(`started at ${preferred} as asked`);
  for (const name of order) {
    try {
      const { adapter, threads, note } = await tryBackend(name, wasm);
      return { name, adapter, fallbackReasons: note ? [...skipped, note] : skipped, ...(threads ? { threads } : {}) };
    } catch (err) {
      skipped.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new Error(`no tfjs backend works here: ${skipped.join('; ')}`);
}

interface LosableDevice {
  lost: Promise<{ reason?: string; message?: string }>;
  destroy(): void;
}

function webgpuDevice(): LosableDevice | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return (tf.backend() as unknown as { device?: LosableDevice }).device ?? null;
}

/** Calls `onLost` with plain words when the WebGPU device goes (driver reset, GPU removed, destroy()). */
export function watchDevice(onLost: (reason: string) => void): void {
  void webgpuDevice()?.lost.then((info) =>
    onLost(
      `The GPU stopped working for this page (WebGPU device lost: ${info.reason ?? 'unknown'}${info.message ? `, ${info.message}` : ''}).`,
    ),
  );
}

/** Test hook: destroys the device, as a driver reset would. False when not on WebGPU. */
export function loseDevice(): boolean {
  const device = webgpuDevice();
  device?.destroy();
  return device !== null;
}
