/** The address holds the open stage, the lesson and the settings; a bad value is refused with a message and the rest apply. */
import { describe, expect, it } from 'vitest';
import { stageInfo } from '../../src/lib/stages/descriptor';
import { BUILT_IN_STAGES } from '../../src/lib/stages/registry';
import { applyUrlSettings, parseUrlState, urlSearch } from '../../src/ui/urlState';

const stages = BUILT_IN_STAGES.map(stageInfo);

describe('URL state', () => {
  it('reads the stage, the lesson and checked settings of any kind', () => {
    const parsed = parseUrlState('?stage=ppo&ppo.kl_coef=0&ppo.adaptive_kl=on&ppo.kl_estimator=k1&lesson=overopt&backend=wasm', stages);
    expect(parsed).toEqual({
      stage: 'ppo',
      lesson: 'overopt',
      settings: { ppo: { kl_coef: 0, adaptive_kl: true, kl_estimator: 'k1' } },
      errors: [],
    });
  });

  it('refuses a bad value, an unknown setting or stage with a message, and keeps the good ones', () => {
    const parsed = parseUrlState(
      '?stage=nosuch&pretrain.learning_rate=5&pretrain.steps=abc&pretrain.batch_size=4&ppo.nope=1&x.y=2',
      stages,
    );
    expect(parsed.stage).toBeNull();
    expect(parsed.settings).toEqual({ pretrain: { batch_size: 4 } });
    expect(parsed.errors).toEqual([
      'There is no stage "nosuch".',
      'Pretrain: Learning rate must be between 0.000001 and 0.03; got 5.',
      'Pretrain: Steps must be a number.',
      'Unknown setting "ppo.nope".',
      'Unknown setting "x.y".',
    ]);
  });

  it('writes only settings that differ from their defaults, and keeps the other parameters', () => {
    const settings = { pretrain: { steps: 2000, learning_rate: 0.01 }, ppo: { adaptive_kl: true, kl_coef: 0.05 } };
    expect(urlSearch('?backend=wasm&lesson=overopt&pretrain.steps=5', 'pretrain', settings, stages)).toBe(
      '?backend=wasm&lesson=overopt&stage=pretrain&pretrain.learning_rate=0.01&ppo.adaptive_kl=true',
    );
    expect(parseUrlState(urlSearch('', 'ppo', settings, stages), stages).settings).toEqual({
      pretrain: { learning_rate: 0.01 },
      ppo: { adaptive_kl: true },
    });
  });

  it('applies each stage at once, and value by value when the engine refuses the lot', async () => {
    const calls: string[] = [];
    const configure = async (stage: string, changes: Record<string, unknown>) => {
      calls.push(`${stage} ${JSON.stringify(changes)}`);
      return changes.mini_batch_size === 8 ? { ok: false as const, error: 'Minibatch too large.' } : { ok: true as const };
    };
    const errors = await applyUrlSettings({ sft: { epochs: 2 }, ppo: { mini_batch_size: 8, kl_coef: 0 } }, configure);
    expect(errors).toEqual(['Minibatch too large.']);
    expect(calls).toEqual(['sft {"epochs":2}', 'ppo {"mini_batch_size":8,"kl_coef":0}', 'ppo {"mini_batch_size":8}', 'ppo {"kl_coef":0}']);
  });
});
