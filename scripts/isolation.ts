/**
 * The response headers that make a page cross-origin isolated (SharedArrayBuffer, precise timers): one source for
 * every server of the app (the classroom server now; vite's dev and preview servers can import it too).
 */
export const CROSS_ORIGIN_ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
} as const;
