/**
 * The live loop through the session (tfjs on wasm): while PPO-ptx runs, a submit returns once the ranking is stored;
 * the rankings wait and reach the reward model together at an iteration boundary; tasks name the model that wrote them.
 */
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { EngineEvent, RewardUpdateInfo } from '../../src/lib/types';
import { useWasmBackend } from './setup-tf';
import { QUEUE_LENGTH } from '../../src/lib/session/rankingFlow';
import { tinySession } from './tiny-session';
import { STORIES_ONLY } from '../../src/lib/data/tasks/mix';

beforeAll(useWasmBackend);

describe('Session: submits during PPO-ptx', () => {
  it('return before the reward model learns them; the update comes at an iteration boundary, coalesced', async () => {
    const events: EngineEvent[] = [];
    const engine = await tinySession(events);
    await engine.clearRankings();
    // the stories' short prompts, as when this was measured: a submit must land while the short iterations run
    engine.configure('sft', { task_mix: STORIES_ONLY });
    engine.setLabeler({ labelerId: 'short-answers', agreement: 1, pace: 1, k: 3 });
    for (let i = 0; i < 6; i++) await engine.labelerTick();
    engine.setLabeler({ labelerId: null, agreement: 1, pace: 1, k: 3 });
    engine.configure('reward', { epochs: 1, rankings_per_batch: 2, held_out_share: 0.3, update_steps: 1 });
    for (let i = 0; i < 20 && engine.status().stages.reward.state !== 'done'; i++) await engine.step('reward');

    // 6 iterations: the submits land while sampling for tasks shares the thread with them, and a boundary must follow
    // (rankings that arrive during the last iteration are applied after the run, at no boundary)
    engine.configure('ppo', { iterations: 6, batch_size: 2, mini_batch_size: 2, num_ppo_epochs: 1, response_length: 8 });
    await engine.run('ppo');
    const tasks = [await engine.nextRankingTask(3), await engine.nextRankingTask(3)];
    for (const task of tasks) {
      const result = await engine.submitRanking(task.id, [0, 1, 2]);
      expect(result.predicted).toBeUndefined();
    }
    expect(engine.counters().waitingForReward).toBeGreaterThan(0);
    while (engine.status().stages.ppo.state === 'running') await new Promise((r) => setTimeout(r, 50));
    await engine.rewardSettled();
    expect(engine.status().stages.ppo.state).toBe('done');
    expect(engine.counters().waitingForReward).toBe(0);
    const updates = events.flatMap((e) => (e.type === 'reward-update' ? [e.update] : [])) as RewardUpdateInfo[];
    expect(updates.reduce((n, u) => n + u.applied, 0)).toBe(2);
    expect(updates.some((u) => u.atIteration !== null && u.applied >= 1)).toBe(true);
    expect(events.some((e) => e.type === 'state' && e.stage === 'ppo' && e.status.phase?.name === 'update')).toBe(true);
    // between iterations the update is named with its steps, and it runs beside the next iteration, as the refill does
    const asides = events.flatMap((e) => (e.type === 'state' && e.stage === 'ppo' ? (e.status.aside ?? []) : []));
    expect(asides.some((a) => a.name === 'reward-update' && /reward model: learning \d+ new rankings?, step 1\/1/.test(a.label))).toBe(
      true,
    );
    expect(asides.some((a) => a.name === 'tasks')).toBe(true);
    expect(engine.lineageInfo().lineage[0]).toBe('PPO-ptx iteration 6');
  }, 900_000);

  it('while no stage trains, each task handed out leaves spares sampled behind it, so that a fast ranker never waits', async () => {
    const events: EngineEvent[] = [];
    const engine = await tinySession(events);
    const first = await engine.nextRankingTask(3);
    expect(first.completions).toHaveLength(3);
    const spares = async () => {
      for (let i = 0; i < 600 && engine.counters().queued < QUEUE_LENGTH; i++) await new Promise((r) => setTimeout(r, 50));
      return engine.counters().queued;
    };
    expect(await spares()).toBe(QUEUE_LENGTH);
    // the next tasks come from the queue at once, and it fills again behind them
    const queuedIds = new Set(await Promise.all(Array.from({ length: 2 }, () => engine.nextRankingTask(3).then((t) => t.id))));
    expect(queuedIds.size).toBe(2);
    expect(engine.counters().queued).toBe(QUEUE_LENGTH - 2);
    expect(await spares()).toBe(QUEUE_LENGTH);
  }, 300_000);
});
