/**
 * The task mix in the UI (issue 24, item 6), on wasm with the tiny fixture: the SFT panel's table shows the declared mix
 * (family, weight, share, an example prompt); the ranking panel names each task's family; "only" on closed QA makes
 * the next tasks closed QA (the untouched task on show replaced) and goes into the address; a negative weight is refused
 * with its reason and changes nothing.
 */
import { expect, test, type Page } from '@playwright/test';
import { expectWasm, ON_WASM, openApp } from './app';
import { loadTiny } from './live';

const TITLES: Record<string, string> = {
  generation: 'Generation',
  brainstorming: 'Brainstorming',
  rewrite: 'Rewrite',
  summarisation: 'Summarisation',
  classification: 'Classification',
  closed_qa: 'Closed QA',
  extraction: 'Extraction',
};
/** What each family's prompt looks like (data/tasks/families.ts writes them). */
const PROMPT_SHAPE: Record<string, RegExp> = {
  generation: /story/,
  brainstorming: /^Instruction: Name (two|three) /,
  closed_qa: /(Where was \w+\?|Which animals did \w+ see\?|What things did \w+ have\?)\nResponse:$/,
};

test('wasm: the ranking panel names each task family; closed QA only makes the next tasks closed QA; the SFT table shows the mix', async ({
  page,
}) => {
  test.setTimeout(180_000);
  const { consoleErrors } = await openApp(page, ON_WASM);
  await expectWasm(page);
  await loadTiny(page);
  await page.getByTestId('tab-sft').click();

  // the declared mix: seven families, the paper's weights, their shares here, an example prompt each
  const table = page.getByTestId('setting-sft-task_mix');
  await expect(table.getByTestId('setting-sft-task_mix-row')).toHaveCount(7);
  await expect(page.getByTestId('setting-sft-task_mix-generation')).toHaveValue('45.6');
  await expect(page.getByTestId('setting-sft-task_mix-generation-share')).toHaveText('60.3 %');
  await expect(page.getByTestId('setting-sft-task_mix-closed_qa-share')).toHaveText('3.4 %');
  await expect(table.locator('[data-part="closed_qa"] .note')).toContainText('Where was');

  // several families among the first tasks of the default mix (the prompt stream is fixed: the same ones each run)
  const seen = new Set<string>();
  for (let i = 0; i < 8 && seen.size < 2; i++) {
    const family = await shownFamily(page);
    seen.add(family);
    await page.getByTestId('ranking-skip').click();
  }
  expect(seen.size).toBeGreaterThanOrEqual(2);

  // closed QA alone: the untouched task on show gives way, and the next ones are closed QA too
  await page.getByTestId('setting-sft-task_mix-only-closed_qa').click();
  await expect(table).toHaveAttribute('data-value', 'closed_qa:1');
  await expect(page.getByTestId('setting-sft-task_mix-closed_qa-share')).toHaveText('100.0 %');
  await expect(page.getByTestId('setting-sft-task_mix-generation')).toHaveValue('0');
  await expect(page).toHaveURL(/sft\.task_mix=closed_qa%3A1/);
  for (let i = 0; i < 3; i++) {
    expect(await shownFamily(page, 'closed_qa')).toBe('closed_qa');
    await page.getByTestId('ranking-skip').click();
  }

  // a negative weight is refused with its reason; the mix in use stays
  const weight = page.getByTestId('setting-sft-task_mix-closed_qa');
  await weight.fill('-1');
  await weight.press('Tab');
  await expect(page.getByTestId('error-sft-task_mix')).toContainText('the weight of closed_qa must be a number >= 0; got -1');
  await expect(weight).toHaveValue('1');
  await expect(table).toHaveAttribute('data-value', 'closed_qa:1');
  // and the paper's mix is one click away
  await page.getByTestId('setting-sft-task_mix-default').click();
  await expect(page.getByTestId('setting-sft-task_mix-generation-share')).toHaveText('60.3 %');
  expect(consoleErrors).toEqual([]);
});

/** The family badge of the task on show (once it is `want`, when given), checked against its title and its prompt. */
async function shownFamily(page: Page, want?: string): Promise<string> {
  const badge = page.getByTestId('ranking-family');
  if (want) await expect(badge).toHaveAttribute('data-family', want, { timeout: 60_000 });
  else await expect(badge).toBeVisible({ timeout: 60_000 });
  const family = (await badge.getAttribute('data-family'))!;
  await expect(badge).toHaveText(TITLES[family]);
  const prompt = (await page.getByTestId('ranking-prompt').textContent())!;
  if (PROMPT_SHAPE[family]) expect(prompt).toMatch(PROMPT_SHAPE[family]);
  return family;
}
