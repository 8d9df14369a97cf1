/**
 * The stage registry is the one list of stages, and the descriptor the only seam: a dummy stage registered
 * beside the built-in four runs in the session, namespaces its metrics, validates its settings, and the
 * pipeline, settings form and charts of the UI pick it up with no other edit (the components rendered on
 * the server). Its descriptor also gives it what a DPO stage needs: a frozen reference that an autosave
 * keeps, live rankings that join its set, ranking tasks written by its policy, and its link in the lineage.
 */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import type { GPT } from '../../src/lib/model/gpt';
import type { Ranking } from '../../src/lib/rlhf/rankings';
import { Session, type SessionOptions } from '../../src/lib/session/session';
import { MemoryRankingStore } from '../../src/lib/session/rankingStore';
import { defineStage } from '../../src/lib/stages/descriptor';
import { BUILT_IN_STAGES, withStage } from '../../src/lib/stages/registry';
import { int } from '../../src/lib/settings';
import type { Stage } from '../../src/lib/train/loop';
import type { EngineEvent, MetricPoint, StageInfo } from '../../src/lib/types';
import Pipeline from '../../src/ui/Pipeline.svelte';
import RankingPanel from '../../src/ui/RankingPanel.svelte';
import StagePanel from '../../src/ui/StagePanel.svelte';
import { engine } from '../../src/ui/engine.svelte';
import { pipelineTree, treeOrder } from '../../src/ui/pipelineTree';
import { useWasmBackend } from './setup-tf';

const COUNT_SETTINGS = [
  int('steps', 'Steps', 3, 1, 10, 'How many times to count.'),
  int('by', 'Count by', 2, 1, 5, 'The amount added each step.'),
] as const;

/** Ranking tasks written by the counting stage's policy sample (nearly) greedily: its K completions agree. */
const TASK_SAMPLING = { temperature: 0.001, maxNewTokens: 12 };

/**
 * Counts up by a fixed amount and counts the rankings in its set. It holds a frozen copy of the policy as it
 * began (a reference, as PPO's and DPO's), and each step moves the policy away from it: a restored stage
 * built afresh from the restored policy would hold a different reference.
 */
class ReferenceCounter implements Stage {
  readonly name = 'count';
  stepsDone = 0;
  readonly reference: GPT;
  readonly rankings: Ranking[];
  constructor(
    readonly policy: GPT,
    readonly totalSteps: number,
    private readonly by: number,
    rankings: readonly Ranking[],
  ) {
    this.reference = policy.clone(false);
    this.rankings = [...rankings];
    created.push(this);
  }
  async step() {
    this.stepsDone += 1;
    const [first] = this.policy.variables();
    first.assign(tf.tidy(() => tf.add(first, 0.01)));
    return { value: this.stepsDone * this.by, rankings: this.rankings.length };
  }
  dispose() {
    this.reference.dispose();
  }
}
const created: ReferenceCounter[] = [];

const countingStage = defineStage({
  name: 'count',
  title: 'Counting',
  summary: 'A stage that counts, to show that the pipeline takes any stage.',
  settings: COUNT_SETTINGS,
  stepLabel: 'step',
  charts: [
    { id: 'count-chart', title: 'The count', series: [{ key: 'count/value', label: 'count' }] },
    { id: 'count-chart-rankings', title: 'Rankings in its set', series: [{ key: 'count/rankings', label: 'rankings' }] },
  ],
  stats: [{ id: 'count-value', label: 'count', key: 'count/value', format: 'integer' }],
  plannedSteps: (s) => s.steps,
  validate: (s) => (s.by > s.steps ? 'Count by at most the number of steps.' : null),
  create: (ctx, s) => new ReferenceCounter(ctx.model, s.steps, s.by, ctx.rankings),
  lineage: 'end',
  writesTasks: true,
  savedVariables: (stage) => (stage as ReferenceCounter).reference.variables(),
  liveRankings: { join: (stage, added) => (stage as ReferenceCounter).rankings.push(...added) },
  taskSampling: () => TASK_SAMPLING,
});

const backend = { name: 'cpu' as const, adapter: 'test', fallbackReasons: [] };

/** A session with the counting stage registered, on the tiny pretrained checkpoint (room in its context for ranking tasks). */
async function countingSession(options: SessionOptions): Promise<Session> {
  const stages = withStage(BUILT_IN_STAGES, countingStage);
  const session = new Session(
    backend,
    () => {},
    async (path) => new Uint8Array(readFileSync(path)),
    { stages, ...options },
  );
  session.setCorpus({ kind: 'builtin', documents: 50 });
  await session.loadCheckpointUrl('tests/fixtures/tiny-pretrained.safetensors');
  await session.restore();
  return session;
}

/** A stage's number in the pipeline (its depth in the tree). */
const depth = (stages: StageInfo[], name: string) => treeOrder(pipelineTree(stages)).find((n) => n.info.name === name)!.number;

const values = async (variables: readonly tf.Variable[]) => Promise.all(variables.map(async (v) => Array.from(await v.data())));

beforeAll(useWasmBackend);

describe('stage registry', () => {
  it('runs a registered dummy stage, and the pipeline, settings form and charts show it with no other edit', async () => {
    const events: EngineEvent[] = [];
    const stages = withStage(BUILT_IN_STAGES, countingStage);
    const session = new Session(
      { name: 'cpu', adapter: 'test', fallbackReasons: [] },
      (e) => events.push(e),
      async () => new Uint8Array(),
      { stages, store: new MemoryRankingStore() },
    );
    session.setCorpus({ kind: 'builtin', documents: 50 });
    session.newModel({ preset: 'tiny', tokenizer: 'char' });

    expect(session.status().stageInfo.map((s) => s.name)).toEqual([...BUILT_IN_STAGES.map((s) => s.name), 'count']);
    expect(session.status().settings.count).toEqual({ steps: 3, by: 2 });
    expect(session.status().stages.count).toEqual({ state: 'not-started', step: 0, total: 3 });
    expect(() => session.configure('count', { by: 9 })).toThrow(/Count by must be between 1 and 5/);
    expect(() => session.configure('count', { steps: 1 })).toThrow(/Count by at most the number of steps/);
    expect(() => withStage(stages, countingStage)).toThrow(/registered already/);

    await session.step('count');
    await session.step('count');
    await new Promise((r) => setTimeout(r, 300)); // the metric stream flushes every 250 ms
    const points = events.flatMap((e) => (e.type === 'metrics' && e.stage === 'count' ? e.points : []));
    expect(points.map((p) => p.values['count/value'])).toEqual([2, 4]);
    expect(session.status().stages.count).toMatchObject({ state: 'paused', step: 2, total: 3 });

    // the UI, rendered from what the session reports
    engine.status = session.status();
    engine.metrics = { count: points as MetricPoint[] };
    const pipeline = render(Pipeline, { props: { active: 'count', onselect: () => {} } }).body;
    expect(pipeline).toContain('data-testid="tab-count"');
    // listed last, it follows the stage listed before it (pipeline-tree.test.ts): one deeper than that one
    const previous = session.status().stageInfo.at(-2)!.name;
    expect(pipeline).toContain(`${depth(session.status().stageInfo, previous) + 1}. Counting`);
    const panel = render(StagePanel, { props: { info: session.status().stageInfo.find((s) => s.name === 'count')! } }).body;
    expect(panel).toContain('data-testid="setting-count-steps"');
    expect(panel).toContain('data-testid="setting-count-by"');
    expect(panel).toContain('data-testid="count-chart"');
    expect(panel).toMatch(/data-testid="count-value"[^>]*>4</);

    await session.reset('count');
    expect(session.status().stages.count).toEqual({ state: 'not-started', step: 0, total: 3 });
  });

  it('keeps its frozen reference through an autosave, takes live rankings, writes ranking tasks and ends the lineage', async () => {
    const store = new MemoryRankingStore();
    const a = await countingSession({ store, autosave: true });
    a.startAutosave();
    await a.step('count');

    // ranking tasks come from its policy, labelled with its step, sampled as it says
    const task = await a.nextRankingTask(2);
    expect(task).toMatchObject({ iteration: 1, origin: 'Counting step 1' });
    expect(task.completions[0]).not.toBe('');
    expect(task.completions[1]).toBe(task.completions[0]);
    // a ranking submitted while it exists joins its set at its next step
    await a.submitRanking(task.id, [1, 0]);
    await a.step('count');
    await a.step('count');
    const rankings = a.history().metrics.count.map((p) => p.values['count/rankings']);
    expect(rankings).toEqual([0, 1, 1]);

    // it ends the lineage: named by its step even once done
    expect(a.status().stages.count).toMatchObject({ state: 'done', step: 3 });
    const root = a.lineage().at(-1);
    expect(a.lineage()).toEqual(['Counting step 3', root]);
    const info = a.status().stageInfo.find((s) => s.name === 'count');
    expect(info).toMatchObject({ lineage: 'end', writesTasks: true });

    const before = created.at(-1)!;
    const reference = await values(before.reference.variables());
    // its steps moved the policy away from it
    expect(reference[0]).not.toEqual((await values(before.policy.variables().slice(0, 1)))[0]);
    await a.saveNow();

    // a reload: the stage comes back done, with the reference it had (not a copy of the restored policy)
    const b = await countingSession({ store, autosave: true });
    const restored = await b.restoreAutosave();
    expect(restored?.skipped).toEqual([]);
    const after = created.at(-1)!;
    expect(after).not.toBe(before);
    expect(b.status().stages.count).toMatchObject({ state: 'done', step: 3 });
    expect(b.lineage()).toEqual(['Counting step 3', root]);
    expect(await values(after.reference.variables())).toEqual(reference);
    expect((await b.nextRankingTask(2)).iteration).toBe(3);

    // the ranking panel names the task-writing stage's steps from its descriptor
    engine.status = b.status();
    engine.counters = { ...b.counters(), appliedAtIteration: 3 };
    const panel = render(RankingPanel).body;
    expect(panel).toMatch(/data-testid="ranking-applied"[^>]*>\s*Your rankings reached the reward model at Counting step 3\./);
  });

  it('draws a stage that follows another than the one before it as a branch of the pipeline', async () => {
    const session = await countingSession({ store: new MemoryRankingStore() });
    const status = session.status();
    const count = status.stageInfo.find((s) => s.name === 'count')!;
    engine.status = { ...status, stageInfo: [...status.stageInfo, { ...count, name: 'branch', title: 'Branch', after: 'sft' }] };
    const pipeline = render(Pipeline, { props: { active: 'count', onselect: () => {} } }).body;
    expect(pipeline).toContain(`${depth(status.stageInfo, 'count')}. Counting`);
    expect(pipeline).toContain('2. Branch');
    expect(pipeline).toMatch(/data-testid="branch-branch"[^>]*>or<span[^>]*>, after SFT</);
    expect(pipeline).not.toContain('data-testid="branch-count"');
  });
});
