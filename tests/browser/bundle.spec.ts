import { expect, test } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Marks that only tfjs code carries and minification keeps: kernel names and webgpu flags. */
const TFJS_MARKS = [/BatchMatMul/, /FusedMatMul/, /WEBGPU_/];

function staticChunks(dir: string): string[] {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const entries = [...html.matchAll(/(?:src|href)="\/?(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(join(dir, file), 'utf8');
    for (const m of code.matchAll(/from\s*"\.\/([^"]+\.js)"|import\("\.\/([^"]+\.js)"\)|import\s*"\.\/([^"]+\.js)"/g))
      visit('assets/' + (m[1] ?? m[2] ?? m[3]));
  };
  entries.forEach(visit);
  return [...seen];
}

test('the main-thread bundle contains no tfjs; the worker bundle does', () => {
  const dist = 'dist';
  const mainChunks = staticChunks(dist);
  expect(mainChunks.length).toBeGreaterThan(0);
  for (const file of mainChunks) {
    const code = readFileSync(join(dist, file), 'utf8');
    for (const mark of TFJS_MARKS) expect(code, `${file} should not contain ${mark}`).not.toMatch(mark);
  }
  const worker = readdirSync(join(dist, 'assets')).find((f) => f.startsWith('engine.worker') && f.endsWith('.js'));
  expect(worker, 'the engine worker chunk').toBeTruthy();
  const workerCode = readFileSync(join(dist, 'assets', worker!), 'utf8');
  for (const mark of TFJS_MARKS) expect(workerCode).toMatch(mark);
});
