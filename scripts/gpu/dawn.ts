/**
 * WebGPU in Node through Dawn (npm `webgpu`): the environment a Vulkan driver needs, and a
 * navigator.gpu installed before tfjs's WebGPU backend is imported (it registers only if
 * navigator.gpu exists at import time).
 *
 * Without a GPU, Debian's chromium package brings both halves of a software Vulkan: a loader
 * (libvulkan.so.1) and the SwiftShader driver (vk_swiftshader_icd.json), in its library folder.
 */
import { existsSync, readdirSync } from 'node:fs';

export const CHROMIUM_LIB = process.env.CHROMIUM_LIB ?? '/usr/lib/chromium';
const SWIFTSHADER_ICD = `${CHROMIUM_LIB}/vk_swiftshader_icd.json`;
const LOADER_DIRS = [
  '/usr/lib/x86_64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/lib/x86_64-linux-gnu',
  '/usr/lib64',
  '/usr/lib',
  '/usr/local/lib',
];
const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

function systemHasVulkanLoader(): boolean {
  const extra = (process.env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean);
  return [...extra, ...LOADER_DIRS].some((dir) => existsSync(`${dir}/libvulkan.so.1`));
}

function systemHasVulkanDriver(): boolean {
  return ICD_DIRS.some((dir) => existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.json')));
}

/**
 * Variables to add to a child process's environment so that Dawn finds a Vulkan loader and a
 * driver: chromium's loader when the system has none (LD_LIBRARY_PATH is read only at process
 * start, hence a child), and SwiftShader when `software` is allowed and no driver is installed.
 */
export function vulkanEnv(software: boolean): Record<string, string> {
  const env: Record<string, string> = {};
  if (!systemHasVulkanLoader() && existsSync(`${CHROMIUM_LIB}/libvulkan.so.1`)) {
    env.LD_LIBRARY_PATH = [CHROMIUM_LIB, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  }
  const chosen = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  if (software && !chosen && !systemHasVulkanDriver() && existsSync(SWIFTSHADER_ICD)) env.VK_DRIVER_FILES = SWIFTSHADER_ICD;
  return env;
}

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU or software adapter (SwiftShader, llvmpipe, lavapipe): its speed says nothing about a GPU. */
  software: boolean;
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|cpu/i;

/**
 * Installs Dawn's globals and navigator.gpu; returns the adapter Dawn offers, or null. Call before
 * importing @tensorflow/tfjs-backend-webgpu. `software` lets it fall back to SwiftShader.
 */
export async function installDawn(software = true): Promise<AdapterSummary | null> {
  const driver = vulkanEnv(software).VK_DRIVER_FILES;
  if (driver) process.env.VK_DRIVER_FILES = driver; // read when Vulkan starts, so setting it now still counts
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const gpu = create(['backend=vulkan']);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter();
  if (!adapter) return null;
  const info = adapter.info as unknown as Record<string, string>;
  const summary = {
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
  };
  return { ...summary, software: SOFTWARE.test(Object.values(summary).join(' ')) };
}

export function describeAdapter(a: AdapterSummary): string {
  return [a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ') + (a.software ? ' (software)' : '');
}
