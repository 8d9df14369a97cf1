/**
 * Optional extras per stage (the model and corpus beside pretraining, Eq. 1 beside the reward model, …).
 * A stage without an entry gets the generic panel from its descriptor alone.
 */
import type { Component } from 'svelte';
import type { StageInfo } from '../lib/types';
import DpoPanel from './DpoPanel.svelte';
import GrpoPanel from './GrpoPanel.svelte';
import PpoPanel from './PpoPanel.svelte';
import PretrainPanel from './PretrainPanel.svelte';
import RewardPanel from './RewardPanel.svelte';
import SftPanel from './SftPanel.svelte';
import StagePanel from './StagePanel.svelte';

const EXTRAS: Record<string, Component<{ info: StageInfo }>> = {
  pretrain: PretrainPanel,
  sft: SftPanel,
  reward: RewardPanel,
  ppo: PpoPanel,
  dpo: DpoPanel,
  grpo: GrpoPanel,
};

export function panelFor(stage: string): Component<{ info: StageInfo }> {
  return EXTRAS[stage] ?? (StagePanel as Component<{ info: StageInfo }>);
}
