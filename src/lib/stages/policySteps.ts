/**
 * Between the steps of a stage whose policy writes the ranking tasks (PPO-ptx, DPO): rankings that arrived are
 * applied, the ranking queue refills from the newest policy, and every so many steps its sample stream refreshes. A
 * pause asked for skips what is left rather than wait for it (queued rankings then apply once paused).
 */
import type { SampleView } from '../types';
import type { StageContext, StageControl } from './descriptor';

export async function betweenPolicySteps(
  step: number,
  ctx: StageContext,
  control: StageControl,
  sampleEvery: number,
  samples: () => Promise<SampleView[]>,
): Promise<SampleView[] | void> {
  const pausing = () => control.shouldStop();
  if (pausing()) return;
  await ctx.rankingFlow.applyPending();
  if (pausing()) return;
  await ctx.rankingFlow.refillQueue(pausing);
  if (pausing()) return;
  if (step % sampleEvery === 0 || step === 1) return samples();
}
