/**
 * The watchdog's verdict (src/ui/watchdog.ts, SilenceJudge) on a clock of its own: a stuck thread is declared hung
 * within 10 s on every backend, whatever the engine was doing, the notice gives the silence as it was, and a long
 * legitimate stretch, a throttled page or a vanished worker are told apart.
 */
import { describe, expect, it } from 'vitest';
import { HUNG_AFTER_MS, SilenceJudge } from '../../src/ui/watchdog';
import type { BackendName } from '../../src/lib/types';

/** Runs the watchdog's timers by hand: pulses every 250 ms, heartbeats every 500 ms until `stuckAt`, checks every 250 ms. */
function watch(judge: SilenceJudge, stuckAt: number, until: number) {
  for (let now = 250; now <= until; now += 250) {
    judge.pulse(now);
    if (now < stuckAt && now % 500 === 0) judge.beat(now);
    const death = judge.check(now);
    if (death) return { ...death, at: now };
  }
  return null;
}

describe('SilenceJudge', () => {
  it.each(['wasm', 'webgpu', 'webgl', 'cpu'] as BackendName[])(
    'declares a thread stuck mid-step hung within 10 s on %s, with the silence it measured',
    (backend) => {
      const judge = new SilenceJudge(HUNG_AFTER_MS[backend], 0);
      const stuckAt = 20_250; // the last heartbeat came at 20 s
      const death = watch(judge, stuckAt, 200_000)!;
      expect(death.reason).toMatch(/^The engine stopped responding/);
      expect(death.at - 20_000).toBeLessThan(10_000);
      expect(death.silentMs).toBe(death.at - 20_000);
      expect(death.silentMs).toBeGreaterThan(HUNG_AFTER_MS[backend]);
      // the notice gives the silence measured, not the bound
      expect(death.reason).toContain(`stuck for ${(death.silentMs / 1000).toFixed(1)} s`);
      expect(judge.longestBeatGapMs).toBe(500);
    },
  );

  it('takes a stretch shorter than the bound (a long part of a step on wasm) for no hang, and remembers it', () => {
    const judge = new SilenceJudge(HUNG_AFTER_MS.wasm, 0);
    for (let now = 250; now <= 30_000; now += 250) {
      judge.pulse(now);
      const silent = now > 10_000 && now < 17_000; // 7 s without a heartbeat, then beating again
      if (!silent && now % 500 === 0) judge.beat(now);
      expect(judge.check(now)).toBeNull();
    }
    expect(judge.longestBeatGapMs).toBe(7_000);
  });

  it('judges nothing on a check that ran late (this page slept), and judges again on the next', () => {
    const judge = new SilenceJudge(HUNG_AFTER_MS.wasm, 0);
    judge.pulse(9_000);
    expect(judge.check(9_000)).toBeNull(); // no heartbeat since 0, but this check came 9 s after the last
    expect(judge.check(9_250)?.silentMs).toBe(9_250);
  });

  it('tells a vanished worker (no pulse) from a stuck one, within 2.25 s', () => {
    const judge = new SilenceJudge(HUNG_AFTER_MS.wasm, 0);
    let death = null;
    for (let at = 250; at <= 10_000 && !death; at += 250) {
      if (at <= 3_000) judge.pulse(at);
      if (at <= 3_000 && at % 500 === 0) judge.beat(at);
      death = judge.check(at);
    }
    expect(death?.reason).toMatch(/engine worker stopped/);
    expect(death!.silentMs).toBeGreaterThan(2_000);
    expect(death!.silentMs).toBeLessThanOrEqual(2_250);
  });
});
