/**
 * The stage registry is the one list of stages: a dummy stage registered beside the built-in four runs
 * in the session, namespaces its metrics, validates its settings, and the pipeline, settings form and
 * charts of the UI pick it up with no other edit (the components rendered on the server).
 */
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import { render } from 'svelte/server';
import { Session } from '../../src/lib/session/session';
import { MemoryRankingStore } from '../../src/lib/session/rankingStore';
import { defineStage } from '../../src/lib/stages/descriptor';
import { BUILT_IN_STAGES, withStage } from '../../src/lib/stages/registry';
import { int } from '../../src/lib/settings';
import type { EngineEvent, MetricPoint } from '../../src/lib/types';
import Pipeline from '../../src/ui/Pipeline.svelte';
import StagePanel from '../../src/ui/StagePanel.svelte';
import { engine } from '../../src/ui/engine.svelte';
import { CountingStage } from './counting-stage';
import { useWasmBackend } from './setup-tf';

const COUNT_SETTINGS = [
  int('steps', 'Steps', 3, 1, 10, 'How many times to count.'),
  int('by', 'Count by', 2, 1, 5, 'The amount added each step.'),
] as const;

const countingStage = defineStage({
  name: 'count',
  title: 'Counting',
  summary: 'A stage that counts, to show that the pipeline takes any stage.',
  settings: COUNT_SETTINGS,
  stepLabel: 'step',
  charts: [{ id: 'count-chart', title: 'The count', series: [{ key: 'count/value', label: 'count' }] }],
  stats: [{ id: 'count-value', label: 'count', key: 'count/value', format: 'integer' }],
  plannedSteps: (s) => s.steps,
  validate: (s) => (s.by > s.steps ? 'Count by at most the number of steps.' : null),
  create: (_ctx, s) => new CountingStage(s.steps, s.by),
});

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

    expect(session.status().stageInfo.map((s) => s.name)).toEqual(['pretrain', 'sft', 'reward', 'ppo', 'count']);
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
    expect(pipeline).toContain('4. Counting');
    const panel = render(StagePanel, { props: { info: session.status().stageInfo[4] } }).body;
    expect(panel).toContain('data-testid="setting-count-steps"');
    expect(panel).toContain('data-testid="setting-count-by"');
    expect(panel).toContain('data-testid="count-chart"');
    expect(panel).toMatch(/data-testid="count-value"[^>]*>4</);

    await session.reset('count');
    expect(session.status().stages.count).toEqual({ state: 'not-started', step: 0, total: 3 });
  });
});
