/**
 * The pipeline's tree (src/ui/pipelineTree.ts) from the descriptors' `after`: the built-in stages branch after SFT
 * into the reward model (then PPO-ptx or GRPO), DPO and best-of-n; a stage registered with `after` (withStage) joins the tree
 * where it names, with no other edit, and the rendered pipeline draws it as an alternative ("or, after SFT"). The
 * "Start here" guide names the other branches after SFT that are registered.
 */
import { render } from 'svelte/server';
import { describe, expect, it } from 'vitest';
import { stageInfo, type StageDescriptor } from '../../src/lib/stages/descriptor';
import { BUILT_IN_STAGES, withStage } from '../../src/lib/stages/registry';
import type { EngineStatus, StageInfo, StageName } from '../../src/lib/types';
import LessonGuide from '../../src/ui/LessonGuide.svelte';
import Pipeline from '../../src/ui/Pipeline.svelte';
import { engine } from '../../src/ui/engine.svelte';
import { pipelineTree, treeOrder, type PipelineNode } from '../../src/ui/pipelineTree';

/** A registered stage that does nothing: only its place in the pipeline matters here. */
const dummy = (name: string, title: string, after?: StageName): StageDescriptor => ({ ...BUILT_IN_STAGES[0], name, title, after });

const treeOf = (stages: readonly StageDescriptor[]) => pipelineTree(stages.map(stageInfo));
const find = (roots: PipelineNode[], name: string) => treeOrder(roots).find((n) => n.info.name === name)!;
const names = (nodes: PipelineNode[]) => nodes.map((n) => n.info.name);

describe('pipeline tree', () => {
  it('branches the built-in stages after SFT: reward model → PPO-ptx or GRPO; DPO; best-of-n', () => {
    const roots = treeOf(BUILT_IN_STAGES);
    expect(names(roots)).toEqual(['pretrain']);
    // every stage once, none lost to a wrong parent
    expect(names(treeOrder(roots)).sort()).toEqual(BUILT_IN_STAGES.map((s) => s.name).sort());
    expect(names(roots[0].children)).toEqual(['sft']);
    const sft = find(roots, 'sft');
    expect(names(sft.children)).toEqual(['reward', 'dpo', 'best_of_n']);
    expect(names(find(roots, 'reward').children)).toEqual(['ppo', 'grpo']);
    // InstructGPT's numbers: 1. SFT, 2. reward model, 3. PPO-ptx; the alternatives at the depth they sit
    expect(['pretrain', 'sft', 'reward', 'ppo', 'grpo', 'dpo'].map((n) => find(roots, n).number)).toEqual([0, 1, 2, 3, 3, 2]);
    // the first to follow a stage continues its line; the others say where they branch from
    expect(['sft', 'reward', 'ppo'].map((n) => find(roots, n).branchFrom)).toEqual([undefined, undefined, undefined]);
    expect(find(roots, 'grpo').branchFrom).toBe('Reward model');
    expect(find(roots, 'dpo').branchFrom).toBe('SFT');
    expect(find(roots, 'best_of_n')).toMatchObject({ number: 2, branchFrom: 'SFT' });
  });

  it('puts a stage registered with `after` where it names, and one without after the stage listed before it', () => {
    const branched = treeOf(withStage(BUILT_IN_STAGES, dummy('probe', 'Probe', 'sft')));
    const sft = find(branched, 'sft');
    expect(sft.children.at(-1)).toMatchObject({ info: { name: 'probe' }, number: 2, branchFrom: 'SFT', children: [] });

    // no `after`: it continues the line of the stage listed last (whatever that is)
    const last = BUILT_IN_STAGES.at(-1)!.name;
    const chained = treeOf(withStage(BUILT_IN_STAGES, dummy('next', 'Next')));
    expect(names(find(chained, last).children)).toEqual(['next']);
    expect(find(chained, 'next').branchFrom).toBeUndefined();
    expect(find(chained, 'next').number).toBe(find(chained, last).number + 1);

    // after a stage that has none following it yet: the first child, on that stage's line
    const onPpo = treeOf(withStage(BUILT_IN_STAGES, dummy('after-ppo', 'After PPO', 'ppo')));
    expect(names(find(onPpo, 'ppo').children)).toEqual(['after-ppo']);
    expect(find(onPpo, 'after-ppo').number).toBe(4);
    expect(find(onPpo, 'after-ppo').branchFrom).toBeUndefined();

    // an `after` that names no stage listed before it falls back to the one listed just before
    const unknown = treeOf(withStage(BUILT_IN_STAGES, dummy('stray', 'Stray', 'nowhere')));
    expect(names(find(unknown, last).children)).toEqual(['stray']);
  });

  it('renders the tree: each stage a tab, an alternative marked "or, after …", one line continued by an arrow', () => {
    const stages = withStage(BUILT_IN_STAGES, dummy('probe', 'Probe', 'sft')).map(stageInfo);
    showStages(stages);
    const html = render(Pipeline, { props: { active: 'sft', onselect: () => {} } }).body;
    for (const s of stages) expect(html).toContain(`data-testid="tab-${s.name}"`);
    expect(html).toContain('2. Probe');
    expect(html).toContain('3. GRPO');
    expect(html).toMatch(/data-testid="branch-probe"[^>]*>or<span[^>]*>, after SFT</);
    expect(html).toMatch(/data-testid="branch-dpo"[^>]*>or<span[^>]*>, after SFT</);
    expect(html).toMatch(/data-testid="branch-grpo"[^>]*>or<span[^>]*>, after Reward model</);
    for (const first of ['sft', 'reward', 'ppo']) expect(html).not.toContain(`data-testid="branch-${first}"`);
    // the tab of a stage sits inside the line of the stage it follows: PPO-ptx's and GRPO's inside the reward model's
    const rewardLine = html.slice(html.indexOf('data-testid="tab-reward"'), html.indexOf('data-testid="branch-dpo"'));
    expect(rewardLine).toContain('data-testid="tab-ppo"');
    expect(rewardLine).toContain('data-testid="tab-grpo"');
    expect(rewardLine).not.toContain('data-testid="tab-probe"');
    engine.status = null;
  });

  it('the "Start here" guide names the branches after SFT that are registered, by their titles', () => {
    showStages(BUILT_IN_STAGES.map(stageInfo));
    const guide = render(LessonGuide, { props: { onselect: () => {} } }).body;
    expect(guide).toMatch(/data-testid="guide-branches"[^>]*>\s*Other branches after SFT/);
    expect(guide).toMatch(/data-testid="guide-dpo"[^>]*>DPO</);
    expect(guide).toMatch(/data-testid="guide-grpo"[^>]*>GRPO</);
    expect(guide.replace(/<[^>]*>/g, '').replace(/\s+/g, ' ')).toContain('no sampling); GRPO (rewards groups');
    expect(guide).toMatch(/data-testid="guide-best_of_n"[^>]*>Best-of-n</);
    // without the branches registered, no line about them
    showStages(BUILT_IN_STAGES.filter((s) => !['dpo', 'grpo', 'best_of_n'].includes(s.name)).map(stageInfo));
    expect(render(LessonGuide, { props: { onselect: () => {} } }).body).not.toContain('guide-branches');
    engine.status = null;
  });
});

/** The engine's status as the UI holds it, with these stages, none started. */
function showStages(stages: StageInfo[]): void {
  const status = { state: 'not-started' as const, step: 0, total: 1 };
  engine.status = {
    stageInfo: stages,
    stages: Object.fromEntries(stages.map((s) => [s.name, status])),
    settings: {},
    model: null,
    corpus: null,
    backend: { name: 'cpu', adapter: 'test', fallbackReasons: [] },
  } as EngineStatus;
}
