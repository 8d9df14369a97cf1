/**
 * Cross-origin isolation: `crossOriginIsolated` must be true for tfjs-wasm to run its threaded SIMD build
 * (SharedArrayBuffer needs it). Every server of the app sends these headers (Vite's dev and preview servers, the
 * classroom server); a static host that cannot set headers (e.g. GitHub Pages) gets them from the `coi-serviceworker`
 * package, which the plugin below serves as /coi-serviceworker.js and each page loads first: it does nothing where
 * the page is already isolated. `require-corp` means every subresource must be same-origin or say it may be
 * embedded; the app loads nothing from elsewhere.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Plugin } from 'vite';

export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

export const SERVICE_WORKER_PATH = '/coi-serviceworker.js';

function serviceWorkerSource(): string {
  return readFileSync(createRequire(import.meta.url).resolve('coi-serviceworker/coi-serviceworker.min.js'), 'utf8');
}

/**
 * Serves the service-worker fallback in dev and writes it into the build, at the site's root (its scope), and loads
 * it first on the pages that run tfjs.
 */
export function isolationPlugin(): Plugin {
  return {
    name: 'cross-origin-isolation',
    transformIndexHtml(html, { path }) {
      if (!/^\/(index|bench)\.html$/.test(path)) return html;
      return [{ tag: 'script', attrs: { src: SERVICE_WORKER_PATH }, injectTo: 'head-prepend' }];
    },
    configureServer(server) {
      server.middlewares.use(SERVICE_WORKER_PATH, (_req, res) => {
        res.setHeader('Content-Type', 'text/javascript');
        res.end(serviceWorkerSource());
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: SERVICE_WORKER_PATH.slice(1), source: serviceWorkerSource() });
    },
  };
}
