/**
 * Between the steps of a stage whose policy writes the ranking tasks (PPO-ptx, DPO), each piece named with its
 * progress and run beside the next step rather than before it: the rankings that arrived, in one reward-model update
 * (PPO-ptx's next iteration samples meanwhile and scores once it is done); the ranking queue's refill from the newest
 * policy; every so many steps the sample stream. A pause stops the update at its next part (its rankings wait).
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
  const sampleNow = step % sampleEvery === 0 || step === 1;
  if (!control.aside) {
    // scripts and tests without the app's runner: in line
    await ctx.rankingFlow.applyPending({ stop: pausing, report: (phase) => control.onPhase(phase) });
    if (pausing()) return;
    await ctx.rankingFlow.refillQueue(pausing);
    return sampleNow ? samples() : undefined;
  }
  const update = { name: 'reward-update', label: 'reward model: new rankings', done: 0, total: 0 };
  control.aside(update, (report) => ctx.rankingFlow.applyPending({ stop: pausing, report }));
  control.aside({ name: 'tasks', label: 'ranking tasks', done: 0, total: 0 }, (report) => ctx.rankingFlow.refillQueue(undefined, report));
  if (sampleNow) control.aside({ name: 'samples', label: 'sample stream', done: 0, total: 0 }, samples);
}
