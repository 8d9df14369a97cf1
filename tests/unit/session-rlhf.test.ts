import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent } from '../../src/lib/types';
import { Session } from '../../src/lib/session/session';
import { useWasmBackend } from './setup-tf';
import { tinySession } from './tiny-session';

beforeAll(useWasmBackend);

async function until(engine: Session, stage: 'sft' | 'reward' | 'ppo', state: string, maxSteps = 50): Promise<void> {
  for (let i = 0; i < maxSteps && engine.status().stages[stage].state !== state; i++) await engine.step(stage);
  expect(engine.status().stages[stage].state).toBe(state);
}

describe('Session: the whole recipe on the tiny checkpoint', () => {
  it('lecture-mode rankings, SFT, reward model, PPO-ptx with a ranking mid-run, export and re-import', async () => {
    const events: EngineEvent[] = [];
    const engine = await tinySession(events);
    await engine.restore();
    await engine.clearRankings();

    await expect(engine.step('ppo')).rejects.toThrow(/Train the reward model first/);
    await expect(engine.step('reward')).rejects.toThrow(/Rank at least two prompts first/);

    engine.setLabeler({ labelerId: 'short-answers', agreement: 1, pace: 1, k: 4 });
    for (let i = 0; i < 8; i++) expect(await engine.labelerTick()).toBe(true);
    engine.setLabeler({ labelerId: null, agreement: 1, pace: 1, k: 4 });
    expect(engine.counters()).toMatchObject({ rankings: 8, pairs: 48 });

    await engine.addDemonstration('Write a short story about Tom.', 'Tom went to the park. He was happy. The end.');
    engine.configure('sft', { epochs: 1, demonstrations: 8, batch_size: 4, instruction_prompts: 4 });
    await until(engine, 'sft', 'done');
    // SFT's sample stream: responses to held-out instructions after its first step, while it runs
    const sftSamples = events.find((e) => e.type === 'samples' && e.stage === 'sft');
    expect(sftSamples?.type === 'samples' && sftSamples.step).toBe(1);
    expect(sftSamples?.type === 'samples' && sftSamples.samples.map((x) => x.prompt)).toEqual([
      expect.stringMatching(/^Instruction: /),
      expect.stringMatching(/^Instruction: /),
      expect.stringMatching(/^Instruction: /),
    ]);

    engine.configure('reward', { epochs: 1, rankings_per_batch: 2, held_out_share: 0.3 });
    await until(engine, 'reward', 'done');
    await new Promise((r) => setTimeout(r, 50));

    engine.configure('ppo', { iterations: 3, batch_size: 2, mini_batch_size: 2, num_ppo_epochs: 1, response_length: 8 });
    await engine.step('ppo');
    const task = await engine.nextRankingTask(3);
    expect(task.completions).toHaveLength(3);
    expect(task.predicted).toHaveLength(3);
    const result = await engine.submitRanking(task.id, [2, 0, 1]);
    expect(result.counters.rankings).toBe(9);
    expect(task.origin).toBe('PPO-ptx iteration 1');
    // the submit returned once the ranking was stored; the reward model learns it in the background
    await engine.rewardSettled();
    expect(engine.counters().rewardUpdates).toBe(1);
    // the reward model's counter and chart count its own steps: the planned ones, then those of its updates
    const rewardStatus = engine.status().stages.reward;
    expect(rewardStatus.step).toBe(rewardStatus.total);
    expect(rewardStatus.extraSteps).toBe(4); // update_steps
    expect(engine.counters().waitingForReward).toBe(0);
    const update = events.find((e) => e.type === 'reward-update');
    expect(update?.type === 'reward-update' && update.update.predicted[0]).toMatchObject({ taskId: task.id });
    await expect(engine.submitRanking(task.id, [0, 1, 2])).rejects.toThrow(/no longer open/);
    await until(engine, 'ppo', 'done');
    // (metric points are sent in batches: PPO's state changes flushed the update's) its chart's step is the same count
    const rewardPoints = events.flatMap((e) => (e.type === 'metrics' && e.stage === 'reward' ? e.points : []));
    expect(rewardPoints.at(-1)?.step).toBe(rewardStatus.total + 4);
    expect(engine.lineageInfo().lineage.slice(0, 2)).toEqual(['PPO-ptx iteration 3', 'SFT']);

    const ppoPoints = events.flatMap((e) => (e.type === 'metrics' && e.stage === 'ppo' ? e.points : []));
    expect(ppoPoints.length).toBeGreaterThanOrEqual(3);
    for (const p of ppoPoints)
      for (const name of ['objective/scores', 'objective/kl', 'loss/policy_avg', 'ptx/loss'])
        expect(Number.isFinite(p.values[name])).toBe(true);
    expect(events.some((e) => e.type === 'samples' && e.stage === 'ppo' && e.samples[0].reference !== undefined)).toBe(true);

    const pairs = engine.exportRankings('pairs');
    expect(pairs.trim().split('\n')).toHaveLength(48 + 3);
    const full = engine.exportRankings('rankings');
    await engine.clearRankings();
    const bad = await engine.importRankings('{"prompt": 1}\nnot json\n');
    expect(bad.added).toBe(0);
    expect(bad.errors.join(' ')).toMatch(/line 2: not JSON/);
    const back = await engine.importRankings(full);
    expect(back).toMatchObject({ added: 9, errors: [] });
    expect((await engine.importRankings(full)).added).toBe(0);
  }, 300_000);
});
