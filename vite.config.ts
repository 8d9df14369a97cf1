import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { ISOLATION_HEADERS, isolationPlugin } from './scripts/isolation';
import { wasmThreadsPlugin } from './scripts/viteWasmThreads';

export default defineConfig({
  plugins: [svelte(), wasmThreadsPlugin(), isolationPlugin()],
  worker: { format: 'es', plugins: () => [wasmThreadsPlugin()] },
  // the dev server bundles tfjs once, before any plugin above sees it
  optimizeDeps: { rolldownOptions: { plugins: [wasmThreadsPlugin()] } },
  build: {
    target: 'es2022',
    chunkSizeWarningLimit: 4000,
    // bench.html is the benchmark page that `npm run bench` drives; student.html the student's page of a class
    // (no tfjs); classroom-test.html the lecturer's classroom panel on a fake engine, for the browser test.
    rollupOptions: { input: { main: 'index.html', bench: 'bench.html', student: 'student.html', 'classroom-test': 'classroom-test.html' } },
  },
  server: { port: 5173, host: '127.0.0.1', headers: ISOLATION_HEADERS },
  preview: { port: 4173, host: '127.0.0.1', headers: ISOLATION_HEADERS },
});
