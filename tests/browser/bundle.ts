/** Reading the built app: which JS chunks an HTML entry of dist/ loads statically, and the marks only tfjs code carries. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Marks that only tfjs code carries and minification keeps: kernel names and webgpu flags. */
export const TFJS_MARKS = [/BatchMatMul/, /FusedMatMul/, /WEBGPU_/];

/** The JS chunks that `html` (an entry of `dir`) loads statically, following static and dynamic imports. */
export function staticChunks(dir: string, html = 'index.html'): string[] {
  const entries = [...readFileSync(join(dir, html), 'utf8').matchAll(/(?:src|href)="\/?(assets\/[^"]+\.js)"/g)].map((m) => m[1]);
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
