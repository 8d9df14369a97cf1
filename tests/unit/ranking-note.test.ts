import { describe, expect, it } from 'vitest';
import { comparisonNote, rewardState } from '../../src/ui/ranking';
import type { StageInfo, StageState } from '../../src/lib/types';

const info = (name: string, scoresRankings?: boolean) => ({ name, title: name, scoresRankings }) as StageInfo;
const stages = [info('sft'), info('reward', true), info('ppo')];
const at = (reward: StageState) => (name: string) => ({ state: name === 'reward' ? reward : 'done', step: 0, total: 0 });

describe('rewardState', () => {
  it('reads the stage that scores rankings: none before it runs, training while it runs, ready after', () => {
    expect(rewardState(stages, at('not-started'))).toBe('none');
    expect(rewardState(stages, at('running'))).toBe('training');
    expect(rewardState(stages, at('pausing'))).toBe('training');
    expect(rewardState(stages, at('paused'))).toBe('ready');
    expect(rewardState(stages, at('done'))).toBe('ready');
    expect(rewardState([info('sft'), info('ppo')], at('done'))).toBe('none');
  });
});

describe('comparisonNote', () => {
  it('asks to train the reward model only when none exists', () => {
    expect(comparisonNote('none', undefined)).toBe('no-model');
    expect(comparisonNote('none', 'ready')).toBe('no-model');
    expect(comparisonNote('ready', undefined)).not.toBe('no-model');
  });

  it('says the reward model is learning the ranking while an update will report on it', () => {
    expect(comparisonNote('ready', undefined)).toBe('learning'); // stored by the page, the engine busy
    expect(comparisonNote('ready', 'ready')).toBe('learning'); // queued for, or inside, an incremental update
  });

  it('says a full training run took it when the reward model trained while the ranking arrived', () => {
    expect(comparisonNote('training', undefined)).toBe('in-run');
    expect(comparisonNote('ready', 'training')).toBe('in-run');
    expect(comparisonNote('ready', 'none')).toBe('in-run');
    expect(comparisonNote('training', 'ready')).toBe('in-run');
  });
});
