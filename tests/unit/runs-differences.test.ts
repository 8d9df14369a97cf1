/** differenceLabels: runs are named by the settings that differ between them, and by nothing they share. */
import { describe, expect, it } from 'vitest';
import { differenceLabels, differingKeys, formatSetting } from '../../src/lib/runs/differences';

const run = (id: string, settings: Record<string, number | string | boolean>, name = id) => ({ id, name, settings });

describe('differenceLabels', () => {
  it('names two runs by the one setting that differs', () => {
    const runs = [run('a', { kl_coef: 0, lr: 0.001, seed: 1 }), run('b', { kl_coef: 0.05, lr: 0.001, seed: 1 })];
    expect(differenceLabels(runs, { kl_coef: 'beta' })).toEqual({ a: 'beta 0', b: 'beta 0.05' });
  });

  it('names every setting that differs anywhere, in settings order, and none that all share', () => {
    const runs = [
      run('a', { lr: 0.1, batch: 4, seed: 1 }),
      run('b', { lr: 0.2, batch: 4, seed: 1 }),
      run('c', { lr: 0.1, batch: 8, seed: 1 }),
    ];
    expect(differingKeys(runs)).toEqual(['lr', 'batch']);
    expect(differenceLabels(runs)).toEqual({ a: 'lr 0.1, batch 4', b: 'lr 0.2, batch 4', c: 'lr 0.1, batch 8' });
  });

  it('keeps two settings that changed together (naming one would pin the difference on it)', () => {
    const runs = [run('a', { lr: 0.1, warmup: 0 }), run('b', { lr: 0.2, warmup: 50 })];
    expect(differenceLabels(runs)).toEqual({ a: 'lr 0.1, warmup 0', b: 'lr 0.2, warmup 50' });
  });

  it('falls back to the names when the settings are the same, and adds them where labels collide', () => {
    expect(differenceLabels([run('a', { lr: 1 }, 'pretrain #1'), run('b', { lr: 1 }, 'pretrain #2')])).toEqual({
      a: 'pretrain #1',
      b: 'pretrain #2',
    });
    const runs = [run('a', { lr: 1 }, 'first'), run('b', { lr: 1 }, 'second'), run('c', { lr: 2 }, 'third')];
    expect(differenceLabels(runs)).toEqual({ a: 'lr 1 · first', b: 'lr 1 · second', c: 'lr 2' });
    expect(differenceLabels([run('a', { lr: 1 }, 'only')])).toEqual({ a: 'only' });
    expect(differenceLabels([])).toEqual({});
  });

  it('formats floats, flags, choices and a missing setting', () => {
    expect(formatSetting(0.1 + 0.2)).toBe('0.3');
    expect(formatSetting(3e-7)).toBe('3e-7');
    expect(formatSetting(true)).toBe('on');
    expect(formatSetting('k3')).toBe('k3');
    expect(formatSetting(undefined)).toBe('–');
    const runs = [run('a', { adaptive: false, est: 'k1' }), run('b', { adaptive: true, est: 'k1', extra: 2 })];
    expect(differenceLabels(runs)).toEqual({ a: 'adaptive off, extra –', b: 'adaptive on, extra 2' });
  });
});
