/**
 * The made-up-facts lesson on WebGPU (asserted: a silent fallback would not test it), at the quick sizes on the tiny
 * fixture (the lesson then starts from the shipped tiny model, on stories of at most 100 characters): SFT on the task mix
 * and one DPO step on the 'no-made-up-facts' labeler's rankings run to the measured-result sentence, which states both
 * made-up-fact rates with their intervals; the chart draws the DPO run's rate. tests/unit/lessons-made-up.test.ts checks
 * the figures.
 */
import { expect, test } from '@playwright/test';
import { expectWebGpu, loadTinyIntoLesson, openApp } from './app';

test('webgpu: the made-up-facts lesson runs SFT and DPO and states both made-up-fact rates with their intervals', async ({ page }) => {
  test.setTimeout(420_000); // about a minute on SwiftShader here; a slow CI machine should not fail it
  await openApp(page, '?lesson=made-up-facts&lessonSizes=quick');
  await expectWebGpu(page);
  await expect(page.getByTestId('lesson-panel')).toHaveAttribute('data-lesson', 'made-up-facts');
  await loadTinyIntoLesson(page);
  await expect(page.getByTestId('lesson-model-note')).toContainText('task-pretrained');
  await page.getByTestId('lesson-run').click();
  await expect(page.getByTestId('lesson-state')).toHaveText('done', { timeout: 400_000 });
  const summary = page.getByTestId('lesson-summary');
  await expect(summary).toContainText(/after SFT \d+ % \(95 % interval \d+ %–\d+ %, \d+ of 4\), after DPO \d+ % \(95 % interval/);
  await expect(summary).toContainText('GPT-3 41 % → InstructGPT 21 %');
  const drawn: { label: string; points: number }[] = JSON.parse(
    (await page.getByTestId('lesson-chart-made-up').getAttribute('data-datasets')) ?? '[]',
  );
  // the DPO run before its one step and after it
  expect(drawn.find((d) => d.label.includes('made-up facts'))?.points).toBe(2);
});
