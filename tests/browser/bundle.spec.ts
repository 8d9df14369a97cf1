import { staticChunks, TFJS_MARKS } from './bundle';
import { expect, test } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

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
