import { expect, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { expectWebGpu, openApp } from './app';

type Client = {
  api: Record<string, (...args: unknown[]) => Promise<unknown>>;
  metrics: Record<string, { kind: string; values: Record<string, number> }[]>;
};

test('on WebGPU the worker runs SFT, trains a reward model from simulated rankings and runs PPO-ptx iterations with finite metrics', async ({
  page,
}) => {
  test.setTimeout(420_000);
  await openApp(page);
  await expectWebGpu(page);
  const checkpoint = [...readFileSync('tests/fixtures/tiny-pretrained.safetensors')];

  await page.evaluate(async (bytes) => {
    const { api } = (window as unknown as { playground: Client }).playground;
    await api.importCheckpoint(new Uint8Array(bytes), 'tiny-pretrained.safetensors');
    await api.clearRankings();
    await api.configure('sft', { epochs: 1, demonstrations: 8, batch_size: 4, instruction_prompts: 4 });
    await api.configure('reward', { epochs: 1, rankings_per_batch: 2, held_out_share: 0.25 });
    await api.configure('ppo', { iterations: 2, batch_size: 2, mini_batch_size: 2, num_ppo_epochs: 1, response_length: 8 });
    await api.setLabeler({ labelerId: 'short-answers', agreement: 1, pace: 120, k: 3 });
  }, checkpoint);
  await expect(page.getByTestId('model-info')).toContainText('tiny-pretrained');

  const counters = () =>
    page.evaluate(() => (window as unknown as { playground: Client }).playground.api.counters() as Promise<{ rankings: number }>);
  await expect.poll(async () => (await counters()).rankings, { timeout: 180_000 }).toBeGreaterThanOrEqual(5);
  await page.evaluate(() =>
    (window as unknown as { playground: Client }).playground.api.setLabeler({ labelerId: null, agreement: 1, pace: 1, k: 3 }),
  );

  for (const stage of ['sft', 'reward', 'ppo']) {
    await page.evaluate((s) => (window as unknown as { playground: Client }).playground.api.run(s), stage);
    await expect
      .poll(
        async () =>
          (
            await page.evaluate(
              (s) =>
                (window as unknown as { playground: { status: { stages: Record<string, { state: string; message?: string }> } } })
                  .playground.status.stages[s],
              stage,
            )
          ).state,
        { timeout: 240_000 },
      )
      .toBe('done');
  }

  const metrics = await page.evaluate(
    () => JSON.parse(JSON.stringify((window as unknown as { playground: Client }).playground.metrics)) as Client['metrics'],
  );
  expect(metrics.sft.some((p) => Number.isFinite(p.values['sft/loss']))).toBe(true);
  expect(metrics.reward.some((p) => Number.isFinite(p.values['reward/loss']))).toBe(true);
  const ppo = metrics.ppo.filter((p) => p.kind === 'train');
  expect(ppo.length).toBe(2);
  for (const point of ppo) {
    for (const name of [
      'objective/scores',
      'objective/rlhf_reward',
      'objective/kl',
      'objective/kl_coef',
      'objective/entropy',
      'loss/policy_avg',
      'loss/value_avg',
      'policy/clipfrac_avg',
      'ptx/loss',
      'time/sample_s',
      'time/score_s',
      'time/update_s',
    ]) {
      expect(Number.isFinite(point.values[name]), `${name} = ${point.values[name]}`).toBe(true);
    }
  }
});
