/** Shared steps for the browser tests: open the app and insist that the worker really runs on WebGPU. */
import { readFileSync } from 'node:fs';
import { expect, type Page } from '@playwright/test';

export interface OpenedApp {
  consoleErrors: string[];
}

export async function openApp(page: Page, query = ''): Promise<OpenedApp> {
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto('/' + query);
  await expect(page.getByTestId('backend')).toBeVisible({ timeout: 120_000 });
  return { consoleErrors };
}

/**
 * The long flows (many steps, lessons, the live loop) open the app on wasm, which users without a GPU get: here it is
 * tens of times faster than SwiftShader's software WebGPU. Each stage and each durable fault keeps a WebGPU test.
 */
export const ON_WASM = '?backend=wasm';

export async function expectWasm(page: Page): Promise<void> {
  await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'wasm');
}

/** A silent fallback to another backend would not test WebGPU at all. */
export async function expectWebGpu(page: Page): Promise<void> {
  await expect(page.getByTestId('backend')).toHaveAttribute('data-backend', 'webgpu');
}

export async function setSetting(page: Page, stage: string, key: string, value: number): Promise<void> {
  const input = page.getByTestId(`setting-${stage}-${key}`);
  await input.fill(String(value));
  await input.press('Tab');
  // the engine's answer is back before the next field is typed (a person reads the field before moving on)
  await expect
    .poll(async () => {
      if (await page.getByTestId(`error-${stage}-${key}`).count()) return 'refused';
      return page.evaluate(
        ([s, k]) =>
          (window as unknown as { playground: { status: { settings: Record<string, Record<string, unknown>> } } }).playground.status
            .settings[s]?.[k],
        [stage, key],
      );
    })
    .toBe(Number(value));
}

export function stepCount(page: Page): Promise<number> {
  return page
    .getByTestId('pretrain-step-counter')
    .textContent()
    .then((t) => Number((t ?? '0').split('/')[0]));
}

/** Starts a fresh tiny model: the software WebGPU adapter of a GPU-less machine is slow. */
export async function freshTinyModel(page: Page): Promise<void> {
  await page.getByTestId('model-preset').selectOption('tiny');
  await page.getByTestId('train-from-scratch').click();
  await expect(page.getByTestId('model-info')).toContainText('new tiny model', { timeout: 60_000 });
}

const TINY_FIXTURE = [...readFileSync('tests/fixtures/tiny-pretrained.safetensors')];

/**
 * On a lesson page (?lesson=...): the tiny fixture as the policy, the lesson's explanation shown once it is in (the
 * shipped mini model is ten times slower on a software GPU). live.ts's loadTiny waits for the playground's model card,
 * which a lesson page has not.
 */
export async function loadTinyIntoLesson(page: Page): Promise<void> {
  await page.evaluate(async (bytes) => {
    const api = (window as unknown as { playground: { api: { importCheckpoint(b: Uint8Array, n: string): Promise<unknown> } } }).playground
      .api;
    await api.importCheckpoint(new Uint8Array(bytes), 'tiny-pretrained');
  }, TINY_FIXTURE);
  await expect(page.getByTestId('lesson-explanation')).toBeVisible();
}
