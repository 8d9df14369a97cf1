/**
 * The stages in pipeline order. The session, the worker and the UI iterate this list; nothing else
 * names the stages. `withStage` makes a registry with one more (a new algorithm, or a test's dummy).
 */
import type { StageDescriptor } from './descriptor';
import { bestOfNStage } from './bestOfN';
import { dpoStage } from './dpo';
import { grpoStage } from './grpo';
import { pretrainStage } from './pretrain';
import { ppoStage } from './ppo';
import { rewardStage } from './reward';
import { sftStage } from './sft';

export const BUILT_IN_STAGES: readonly StageDescriptor[] = [
  pretrainStage,
  sftStage,
  rewardStage,
  ppoStage,
  dpoStage,
  grpoStage,
  bestOfNStage,
];

export function withStage(stages: readonly StageDescriptor[], extra: StageDescriptor): StageDescriptor[] {
  if (stages.some((s) => s.name === extra.name)) throw new Error(`A stage named "${extra.name}" is registered already.`);
  return [...stages, extra];
}
