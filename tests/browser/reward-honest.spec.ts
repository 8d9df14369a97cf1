/**
 * An honest reward model (issue #9): after a tiny run on few rankings the reward-model panel shows the held-out
 * pair count, the 95 % interval, the chance line on the accuracy chart and the warning that the model is no better
 * than chance yet. The two held-out rankings are the same task ranked both ways round, so every held-out pair is
 * right in exactly one of them: the accuracy is 50 % whatever the model learns, and the warning must show.
 */
import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { hashFraction } from '../../src/lib/data/hash';
import { expectWasm, ON_WASM, openApp } from './app';

type Api = Record<string, (...args: unknown[]) => Promise<unknown>>;
const HELD_OUT_SHARE = 0.3;

/** The first `count` ids of the form `${prefix}${i}` on the held-out (or the training) side of the split. */
function ids(prefix: string, count: number, heldOut: boolean): string[] {
  const found: string[] = [];
  for (let i = 0; found.length < count; i++) if (hashFraction(`${prefix}${i}`) < HELD_OUT_SHARE === heldOut) found.push(`${prefix}${i}`);
  return found;
}

function rankingsFile(): string {
  const completions = [' The dog ran home.', ' Max found a red ball at the park and smiled.', ' It rained all day.'];
  const line = (id: string, prompt: string, order: number[]) =>
    JSON.stringify({ id, prompt, completions, order, createdAt: 1, source: 'import' });
  const train = ids('t', 4, false).map((id, i) => line(id, `Instruction: Tell me a story ${i}.\nResponse:`, [0, 2, 1]));
  const [a, b] = ids('h', 2, true);
  const prompt = 'Instruction: Tell me a story.\nResponse:';
  return [...train, line(a, prompt, [0, 1, 2]), line(b, prompt, [2, 1, 0])].join('\n');
}

test('wasm: the reward-model panel shows held-out pairs, the 95% interval, the chance line and the chance warning', async ({ page }) => {
  test.setTimeout(180_000);
  await openApp(page, ON_WASM);
  await expectWasm(page);
  const checkpoint = [...readFileSync('tests/fixtures/tiny-pretrained.safetensors')];
  await page.evaluate(
    async ({ bytes, text, share }) => {
      const api = (window as unknown as { playground: { api: Api } }).playground.api;
      await api.importCheckpoint(new Uint8Array(bytes), 'tiny-pretrained.safetensors');
      await api.clearRankings();
      await api.importRankings(text);
      await api.configure('reward', { epochs: 1, rankings_per_batch: 2, held_out_share: share });
    },
    { bytes: checkpoint, text: rankingsFile(), share: HELD_OUT_SHARE },
  );
  await page.getByTestId('tab-reward').click();
  await expect(page.getByTestId('reward-rankings')).toHaveText('6');
  await page.getByTestId('reward-run').click();
  await expect(page.getByTestId('reward-state')).toHaveText('done', { timeout: 150_000 });

  await expect(page.getByTestId('reward-heldout-pairs')).toHaveText('6');
  await expect(page.getByTestId('reward-accuracy')).toHaveText('50.0%');
  const interval = page.getByTestId('reward-interval');
  await expect(interval).toContainText('95% interval');
  expect(Number(await interval.getAttribute('data-low'))).toBeLessThan(0.5);
  expect(Number(await interval.getAttribute('data-high'))).toBeGreaterThan(0.5);
  await expect(page.getByTestId('reward-chance')).toContainText('No better than chance yet');

  const chart = page.getByTestId('reward-chart-accuracy');
  await expect(chart).toHaveAttribute('data-reference', '0.5');
  await expect(chart).not.toHaveAttribute('data-points', '0');
  // the x axis starts at 0, not around the lone evaluation point
  await expect(chart).toHaveAttribute('data-x-range', /^0\.\./);
});
