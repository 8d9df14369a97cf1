/**
 * A long step is no hang: before each step the loop tells its owner the longest step so far, and the runner
 * turns that into the allowance a watchdog waits before it calls the engine hung.
 */
import { describe, expect, it } from 'vitest';
import { stepAllowanceMs } from '../../src/lib/session/stageRunner';
import { TrainingLoop, type Stage } from '../../src/lib/train/loop';

/** A stage whose steps hold the thread for `ms` each, as a tfjs kernel on wasm does. */
function blockingStage(ms: number[]): Stage {
  const stage = {
    name: 'blocking',
    totalSteps: ms.length,
    stepsDone: 0,
    async step() {
      const until = performance.now() + ms[stage.stepsDone];
      while (performance.now() < until);
      stage.stepsDone += 1;
      return { loss: 1 };
    },
    dispose() {},
  };
  return stage;
}

describe('busy announcements', () => {
  it('the loop reports the longest step so far before each step; the allowance is 3x that plus 5 s, 120 s before any', async () => {
    const seen: number[] = [];
    await new TrainingLoop(blockingStage([60, 20, 10]), { beforeStep: (longest) => seen.push(longest) }).run();
    expect(seen).toHaveLength(3);
    expect(seen[0]).toBe(0);
    expect(seen[1]).toBeGreaterThanOrEqual(60);
    expect(seen[2]).toBe(seen[1]); // a shorter step leaves the longest alone
    expect(stepAllowanceMs(0)).toBe(120_000);
    expect(stepAllowanceMs(30_000)).toBe(95_000);
  });
});
