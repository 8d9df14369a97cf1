/** The loop's evaluations: every evalEvery steps and at the end, and with evalAtStart once before the first step. */
import { describe, expect, it } from 'vitest';
import { TrainingLoop, type Metrics, type Stage } from '../../src/lib/train/loop';

/** A stage of `total` steps whose first step is cut short (no step made) `pausesFirst` times; evaluate returns the steps done. */
function stage(total: number, pausesFirst = 0): Stage & { evaluated: number[] } {
  let pauses = pausesFirst;
  const s = {
    name: 'eval',
    totalSteps: total,
    stepsDone: 0,
    evaluated: [] as number[],
    async step(): Promise<Metrics> {
      if (s.stepsDone === 0 && pauses-- > 0) return {};
      s.stepsDone += 1;
      return { loss: 1 };
    },
    async evaluate(): Promise<Metrics> {
      s.evaluated.push(s.stepsDone);
      return { val_loss: s.stepsDone };
    },
    dispose() {},
  };
  return s;
}

describe('loop evaluations', () => {
  it('evaluates every evalEvery steps and at the end; with evalAtStart also once before the first step, at step 0', async () => {
    const plain = stage(5);
    const reported: [number, string][] = [];
    await new TrainingLoop(plain, { onMetrics: (step, _m, kind) => reported.push([step, kind]) }, { evalEvery: 2 }).run();
    expect(plain.evaluated).toEqual([2, 4, 5]);
    expect(reported.filter(([, kind]) => kind === 'eval').map(([step]) => step)).toEqual([2, 4, 5]);

    // the first step is cut short twice (a pause inside it): the start is still evaluated once
    const fromStart = stage(5, 2);
    const evals: number[] = [];
    const loop = new TrainingLoop(
      fromStart,
      { onMetrics: (step, _m, kind) => kind === 'eval' && evals.push(step) },
      { evalEvery: 2, evalAtStart: true },
    );
    await loop.stepOnce();
    await loop.stepOnce();
    expect(fromStart.stepsDone).toBe(0);
    await loop.run();
    expect(fromStart.evaluated).toEqual([0, 2, 4, 5]);
    expect(evals).toEqual([0, 2, 4, 5]);
  });
});
