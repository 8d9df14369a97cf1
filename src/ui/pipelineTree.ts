/**
 * The pipeline as a tree of stages (no Svelte, no tfjs): each stage follows its descriptor's `after`, else the stage
 * listed before it, so a new branch (a stage with `after`) shows where it starts without the pipeline naming it.
 * With the built-in stages: pretrain → SFT → { reward model → { PPO-ptx, GRPO }, DPO, … }.
 */
import type { StageInfo } from '../lib/types';

export interface PipelineNode {
  info: StageInfo;
  /** Its depth after the first stage: InstructGPT's step number (1. SFT, 2. reward model, 3. PPO-ptx). */
  number: number;
  /** The stages that follow it, in registry order; the first continues the line, the others are alternatives. */
  children: PipelineNode[];
  /** Set on an alternative (not the first stage to follow its parent): the parent's title, "or, after SFT". */
  branchFrom?: string;
}

/**
 * The registry's stages as a forest (one root for the built-in stages). A stage's parent is the stage its `after`
 * names among those listed before it, else the one listed just before it; the first stage is a root.
 */
export function pipelineTree(stages: readonly StageInfo[]): PipelineNode[] {
  const nodes = new Map<string, PipelineNode>();
  const roots: PipelineNode[] = [];
  stages.forEach((info, i) => {
    const earlier = stages.slice(0, i);
    const parentInfo = (info.after && earlier.find((s) => s.name === info.after)) || earlier.at(-1);
    const parent = parentInfo ? nodes.get(parentInfo.name) : undefined;
    const node: PipelineNode = { info, number: parent ? parent.number + 1 : 0, children: [] };
    if (parent?.children.length) node.branchFrom = parent.info.title;
    (parent?.children ?? roots).push(node);
    nodes.set(info.name, node);
  });
  return roots;
}

/** The tree's stages depth first, as a person reads it row by row. */
export function treeOrder(roots: readonly PipelineNode[]): PipelineNode[] {
  return roots.flatMap((n) => [n, ...treeOrder(n.children)]);
}
