import { defineConfig } from '@playwright/test';

/** The system Chromium (Playwright's own browser download does not work offline): CHROME_PATH, else /usr/bin/chromium. */
export const CHROME_PATH = process.env.CHROME_PATH || '/usr/bin/chromium';
/** PW_PORT lets several checkouts run their browser tests side by side. */
const PORT = Number(process.env.PW_PORT || 4173);

export default defineConfig({
  testDir: 'tests/browser',
  timeout: 240_000,
  expect: { timeout: 60_000 },
  workers: 1,
  retries: 0,
  reporter: process.env.PW_REPORTER ? [[process.env.PW_REPORTER]] : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: CHROME_PATH,
      // --enable-unsafe-webgpu gives a real WebGPU adapter (SwiftShader) on machines without a GPU.
      args: [
        '--no-sandbox',
        '--enable-unsafe-webgpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command: `npx vite preview --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});
