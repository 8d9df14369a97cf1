import { availableParallelism } from 'node:os';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';
import { vulkanEnv } from './scripts/gpu/dawn.ts';

// The WebGPU kernel tests run tfjs on Dawn: test processes inherit a Vulkan loader and driver
// (chromium's, with SwiftShader, where the system has none). LD_LIBRARY_PATH counts only at start.
Object.assign(process.env, vulkanEnv(true));

// Vitest 5's reporter calls Map.groupBy (Node 21+) when it prints failures; Node 20 lacks it.
if (!('groupBy' in Map)) {
  Object.defineProperty(Map, 'groupBy', {
    value<K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, T[]> {
      const groups = new Map<K, T[]>();
      let i = 0;
      for (const item of items) {
        const k = key(item, i++);
        groups.set(k, [...(groups.get(k) ?? []), item]);
      }
      return groups;
    },
  });
}

export default defineConfig({
  // components render on the server in Node tests (svelte/server), e.g. the stage-registry test
  plugins: [svelte()],
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
    // The longest learning tests take 100 s on the 2-core machine; a CI machine under load may take twice that.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // One fork per core: tfjs-wasm runs on one thread in Node (it never loads its threaded build there, so setThreadsCount
    // does nothing), and one fork would leave a core idle (README: the unit tests' times with one and two forks).
    maxWorkers: availableParallelism(),
  },
});
