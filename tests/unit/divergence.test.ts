import { beforeAll, describe, expect, it } from 'vitest';
import { StageRunner } from '../../src/lib/session/stageRunner';
import type { StageContext } from '../../src/lib/stages/descriptor';
import { sftStage } from '../../src/lib/stages/sft';
import { STORIES_ONLY } from '../../src/lib/data/tasks/mix';
import { DivergenceWatch, divergenceNotice, formatRate, RECENT_STEPS } from '../../src/lib/train/divergence';
import type { StageStatus } from '../../src/lib/types';
import { fixtureExists, loadPretrained } from './rlhf-stage-fixture';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

const watched = (losses: number[]) => {
  const watch = new DivergenceWatch();
  losses.forEach((l) => watch.add(l));
  return watch.verdict();
};

describe('divergence', () => {
  it('flags a loss that ends far above where it started, not noise nor a loss that falls', () => {
    expect(watched([0.8, 2, 4, 5, 6, 6.2])).toEqual({ from: 0.8, to: (2 + 4 + 5 + 6 + 6.2) / 5 });
    expect(watched([0.8, 0.7, 0.75, 0.72, 0.71, 0.7])).toBeNull();
    expect(watched([0.45, 0.5, 0.9, 0.4, 0.6, 0.5])).toBeNull(); // one bad batch among good ones
    expect(watched([6.2, 7, 7.5, 8, 8, 8])).toBeNull(); // not twice the start
    expect(watched([0.1, 0.25, 0.3, 0.3, 0.3, 0.3])).toBeNull(); // tripled, but 0.2 nats is no divergence
    expect(watched([0.8, 6, 6, 6])).toBeNull(); // fewer than RECENT_STEPS steps: no verdict yet
    expect(watched([0.8, 6, NaN, 6, 6, 6, 6])).not.toBeNull(); // a NaN is the loop's to stop on, not part of the trend
    expect(RECENT_STEPS).toBe(5);
  });

  it('says the figures and a learning rate to try', () => {
    const specs = sftStage.settings;
    const d = { from: 0.8, to: 5.86 };
    expect(divergenceNotice('loss', d, specs, { learning_rate: 0.01 })).toBe(
      'loss rose from 0.80 to 5.86: the learning rate 0.01 is too high; try 1e-3.',
    );
    expect(divergenceNotice('loss', d, specs, { learning_rate: 1e-3 })).toBe(
      'loss rose from 0.80 to 5.86: the learning rate 1e-3 may be too high; try 1e-4.',
    );
    expect(divergenceNotice('loss', d, [], {})).toBe('loss rose from 0.80 to 5.86: the run diverged.');
    expect([0.1, 0.03, 3e-3, 1e-3, 3e-4, 0.010000000000000002].map(formatRate)).toEqual(['0.1', '0.03', '3e-3', '1e-3', '3e-4', '0.01']);
  });

  // The run: SFT at 0.1, the highest learning rate the form used to accept, went from 0.80 to 5.86 and said "done"
  it.skipIf(!fixtureExists)(
    'SFT on the tiny fixture at the old top learning rate is flagged on the stage; the form no longer takes it',
    async () => {
      const { model, tokenizer } = loadPretrained();
      const statuses: StageStatus[] = [];
      const context = { model, tokenizer, demonstrations: [] } as unknown as StageContext;
      const runner = new StageRunner([sftStage], {
        context: () => context,
        onMetrics: () => {},
        onStatus: (_, status) => statuses.push(status),
        samplePolicy: async () => [],
        emitSamples: () => {},
      });
      expect(() => runner.configure('sft', { learning_rate: 0.1 })).toThrow(/Learning rate must be between 0.000001 and 0.003; got 0.1/);
      // the run was on the stories (the demonstrations before the task mix)
      const small = { demonstrations: 48, batch_size: 8, val_demonstrations: 8, instruction_prompts: 0, task_mix: STORIES_ONLY };
      runner.configure('sft', small);
      // as a setting saved before the range was lowered would carry it
      runner.settings.sft = { ...runner.settings.sft, learning_rate: 0.1 };
      await runner.run('sft');
      while (runner.state('sft') === 'running') await new Promise((resolve) => setTimeout(resolve, 20));
      const done = runner.status('sft');
      expect(done.state).toBe('done');
      expect(done.step).toBe(6);
      expect(done.warning).toMatch(/^loss rose from 0\.\d\d to [2-9]\.\d\d: the learning rate 0\.1 is too high; try 1e-3\.$/);
      console.log(`SFT at 0.1: ${done.warning}`);
      expect(statuses.at(-1)?.warning).toBe(done.warning); // the status the UI shows carries it
      // the same run at the default learning rate trains and is not flagged
      await runner.reset('sft', model);
      runner.settings.sft = { ...runner.settings.sft, learning_rate: 1e-3 };
      await runner.run('sft');
      while (runner.state('sft') === 'running') await new Promise((resolve) => setTimeout(resolve, 20));
      expect(runner.status('sft')).toMatchObject({ state: 'done', step: 6 });
      expect(runner.status('sft').warning).toBeUndefined();
      runner.stopAll();
      model.dispose();
    },
  );
});
