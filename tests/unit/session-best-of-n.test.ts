/**
 * Best-of-n through the session (tfjs on wasm, the tiny checkpoint): it is registered after SFT; on the learned reward
 * it waits for the reward model; on a verifiable reward it runs the sweep n = 1, 2, 4 to its end, its kept reward never
 * falling, and leaves the policy's lineage alone; it refuses to start once GRPO has trained the
 * policy, and starts again once GRPO is reset.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { bestOfNKl } from '../../src/lib/rlhf/bestOfN';
import { MemoryRankingStore } from '../../src/lib/session/rankingStore';
import { Session } from '../../src/lib/session/session';
import { useWasmBackend } from './setup-tf';
import { CPU_BACKEND } from './tiny-session';

const BEST_OF_N = { n_max: 4, prompts: 3, response_length: 8 };

beforeAll(useWasmBackend);

describe('Session: best-of-n', () => {
  it('waits for the reward model, sweeps n on a program, leaves the policy alone, and refuses after GRPO', async () => {
    const s = new Session(
      CPU_BACKEND,
      () => {},
      async (path) => new Uint8Array(readFileSync(path)),
      { store: new MemoryRankingStore() },
    );
    s.setCorpus({ kind: 'builtin', documents: 300 });
    await s.loadCheckpointUrl('tests/fixtures/tiny-pretrained.safetensors');
    await s.restore();
    const info = s.status().stageInfo.find((d) => d.name === 'best_of_n')!;
    expect(info).toMatchObject({ after: 'sft', lineage: 'off' });
    expect(s.status().settings.best_of_n).toMatchObject({ n_max: 64, reward: 'learned' });

    s.configure('best_of_n', BEST_OF_N);
    await expect(s.step('best_of_n')).rejects.toThrow(/Train the reward model first: Best-of-n maximises its score/);
    s.configure('best_of_n', { reward: 'instruction_following' });
    const before = s.lineageInfo();
    await s.run('best_of_n');
    for (let i = 0; i < 200 && s.status().stages.best_of_n.state !== 'done'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(s.status().stages.best_of_n).toMatchObject({ state: 'done', step: 3, total: 3 });
    const train = s.history().metrics.best_of_n.filter((p) => p.kind === 'train');
    expect(train.map((p) => p.values['best_of_n/n'])).toEqual([1, 2, 4]);
    train.forEach((p) => expect(p.values['objective/kl']).toBeCloseTo(bestOfNKl(p.values['best_of_n/n']), 12));
    for (let i = 1; i < train.length; i++) expect(train[i].values.reward).toBeGreaterThanOrEqual(train[i - 1].values.reward);
    // it trains nothing: the same lineage, begun at the same version (each step still counts a version, as the reward model's)
    expect(s.lineageInfo()).toMatchObject({ lineage: before.lineage, epoch: before.epoch });

    // once GRPO has trained the policy, best-of-n would no longer sample the SFT model
    await s.reset('best_of_n');
    s.configure('grpo', { steps: 2, prompts_per_step: 2, group_size: 2, response_length: 8, reward: 'instruction_following', beta: 0 });
    await s.step('grpo');
    await expect(s.step('best_of_n')).rejects.toThrow(/Reset GRPO first: best-of-n samples the SFT model/);
    await s.reset('grpo');
    await s.step('best_of_n');
    expect(s.status().stages.best_of_n).toMatchObject({ state: 'paused', step: 1 });
  }, 120_000);
});
