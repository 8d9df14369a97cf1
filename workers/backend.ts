/**
 * Picks the tfjs backend for this worker: webgpu, then webgl, then wasm, then cpu.
 * Every backend that was passed over leaves a reason, which the UI shows. Also watches the WebGPU
 * device: when it is lost, the worker says so (the UI then starts a fresh worker, which picks again).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import type { BackendInfo, BackendName } from '../src/lib/types';

export const BACKEND_ORDER: BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

// Under cross-origin isolation (the classroom server's headers) tfjs would pick its threaded wasm build, whose
// pthread workers fail in a bundled app ("e is not defined"): the single-threaded SIMD build is used instead.
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);

// Served by Vite from the app itself: no CDN.
setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

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

async function tryBackend(name: BackendName): Promise<string> {
  const adapter = name === 'webgpu' ? await webgpuAdapter() : '';
  if (!(await tf.setBackend(name))) throw new Error(`tf.setBackend('${name}') failed`);
  await tf.ready();
  // A tiny op proves the backend computes, not only that it registered.
  const probe = tf.add(tf.scalar(1), tf.scalar(2));
  const value = (await probe.data())[0];
  probe.dispose();
  if (value !== 3) throw new Error(`${name} computed 1 + 2 = ${value}`);
  if (name === 'webgl') return webglRenderer();
  if (name === 'wasm') return 'WebAssembly (SIMD where supported)';
  if (name === 'cpu') return 'plain JavaScript';
  return adapter;
}

/** The first backend of `order` that works, starting at `preferred` when given. */
export async function pickBackend(preferred?: BackendName): Promise<BackendInfo> {
  const order = preferred ? BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(preferred)) : BACKEND_ORDER;
  const skipped: string[] = [];
  if (preferred && preferred !== 'webgpu') skipped.push(`started at ${preferred} as asked`);
  for (const name of order) {
    try {
      const adapter = await tryBackend(name);
      return { name, adapter, fallbackReasons: skipped };
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
