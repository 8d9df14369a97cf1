/**
 * A Vite plugin that lets tfjs-wasm's threaded build start inside the bundled engine worker, on every core.
 *
 * - tfjs hands each pthread worker the threaded Emscripten factory as text, `factory.toString()`. Once minified, that
 *   text refers to names of the closure around it (the minifier turns `typeof _scriptDir` into a bare reference), so
 *   every pthread worker dies with "ReferenceError: e is not defined". The plugin gives the pthread workers the
 *   library's own unminified file instead, as a string.
 * - tfjs-wasm caps XNNPACK's thread pool at navigator.hardwareConcurrency / 2, taking every logical core for half a
 *   physical one: on a 2-core machine that is one thread, no gain. The plugin lets it count logical cores as cores.
 * The build fails if tfjs's code no longer has the shapes replaced.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Plugin } from 'vite';

const BACKEND = /@tensorflow\/tfjs-backend-wasm\/dist\/backend_wasm\.js$/;
const THREADED_FACTORY = /@tensorflow\/tfjs-backend-wasm\/wasm-out\/tfjs-backend-wasm-threaded-simd\.js$/;
const LOGICAL_CORES = 'return require("os").cpus().length;return navigator["hardwareConcurrency"]}';
const FACTORY_TEXT = /`var WasmBackendModuleThreadedSimd = `\s*\+\s*wasmFactoryThreadedSimd\.toString\(\)/;

function threadedFactorySource(): string {
  const path = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js');
  return JSON.stringify(readFileSync(path, 'utf8'));
}

/** For the build, and for the dev server's dependency bundling (optimizeDeps.rolldownOptions.plugins). */
export function wasmThreadsPlugin(): Plugin {
  return {
    name: 'tfjs-wasm-threads',
    enforce: 'pre',
    transform(code, id) {
      if (id.includes('?')) return null;
      if (BACKEND.test(id)) {
        if (!FACTORY_TEXT.test(code)) this.error('tfjs-backend-wasm changed: its threaded factory text was not found to replace');
        return { code: code.replace(FACTORY_TEXT, threadedFactorySource()), map: null };
      }
      if (THREADED_FACTORY.test(id)) {
        if (!code.includes(LOGICAL_CORES)) this.error('tfjs-backend-wasm changed: its logical-core count was not found to replace');
        return { code: code.replace(LOGICAL_CORES, LOGICAL_CORES.replace(']}', ']*2}')), map: null };
      }
      return null;
    },
  };
}
