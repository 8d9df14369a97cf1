/**
 * Run history: the session records every run of every stage (settings, seed, lineage, times, metric
 * series) in IndexedDB (fake-indexeddb here); runs outlive the session, are renamed, coloured, hidden
 * and deleted through the worker API, and a run cut off by a reload reads as interrupted.
 */
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import { RunRecorder } from '../../src/lib/runs/recorder';
import { IdbRunStore, MemoryRunStore, type RunStore } from '../../src/lib/runs/runStore';
import { RUN_COLORS, type RunSummary } from '../../src/lib/runs/record';
import { Session } from '../../src/lib/session/session';
import { MemoryRankingStore } from '../../src/lib/session/rankingStore';
import { defineStage } from '../../src/lib/stages/descriptor';
import { BUILT_IN_STAGES, withStage } from '../../src/lib/stages/registry';
import { int, SEED } from '../../src/lib/settings';
import type { EngineEvent } from '../../src/lib/types';
import { CountingStage } from './counting-stage';
import { useWasmBackend } from './setup-tf';

const countingStage = defineStage({
  name: 'count',
  title: 'Counting',
  summary: 'Counts.',
  settings: [int('steps', 'Steps', 3, 1, 10, 'How many.'), int('by', 'Count by', 2, 1, 5, 'Step size.'), SEED] as const,
  stepLabel: 'step',
  charts: [{ id: 'count-chart', title: 'The count', series: [{ key: 'count/value', label: 'count' }] }],
  stats: [],
  plannedSteps: (s) => s.steps,
  create: (_ctx, s) => new CountingStage(s.steps, s.by),
});

/** A second stage to run before the counting one, and one that fails at its first step. */
const twiceStage = { ...countingStage, name: 'twice', title: 'Twice' };
const failingStage = {
  ...countingStage,
  name: 'failing',
  title: 'Failing',
  create: () => ({ ...new CountingStage(3, 1), step: () => Promise.reject(new Error('broken')), dispose() {} }),
};

function session(store: RunStore = new IdbRunStore(), events: EngineEvent[] = []): Session {
  const s = new Session(
    { name: 'cpu', adapter: 'test', fallbackReasons: [] },
    (e) => events.push(e),
    async () => new Uint8Array(),
    { stages: [...withStage(BUILT_IN_STAGES, countingStage), twiceStage, failingStage], store: new MemoryRankingStore(), runStore: store },
  );
  s.setCorpus({ kind: 'builtin', documents: 50 });
  s.newModel({ preset: 'tiny', tokenizer: 'char' });
  return s;
}

async function runToEnd(s: Session, stage: string): Promise<void> {
  while (s.status().stages[stage].state !== 'done') await s.step(stage);
}

beforeAll(useWasmBackend);

describe('run recording through the session', () => {
  it('records each run with settings, seed, lineage, times and metrics, in IndexedDB, and they outlive the session', async () => {
    const events: EngineEvent[] = [];
    const first = session(new IdbRunStore(), events);
    await first.restore();
    const before = first.listRuns().length; // one IndexedDB per test file: start from what is there
    first.configure('count', { by: 1, seed: 7 });
    await runToEnd(first, 'count');
    await first.reset('count');
    first.configure('count', { by: 3 });
    await runToEnd(first, 'count');
    await first.flushRuns();

    const runs = first.listRuns().slice(before);
    expect(runs.map((r) => [r.name, r.state, r.live, r.pointCount, r.steps])).toEqual([
      ['count #1', 'reset', false, 3, 3],
      ['count #2', 'done', true, 3, 3],
    ]);
    expect(runs[0]).toMatchObject({ stage: 'count', settings: { steps: 3, by: 1, seed: 7 }, seed: 7, lineage: ['new tiny model'] });
    expect(runs[1].settings.by).toBe(3);
    expect(runs[1].endedAt).toBeGreaterThanOrEqual(runs[1].startedAt);
    const record = await first.getRun(runs[0].id);
    expect(record?.points.map((p) => p.values['count/value'])).toEqual([1, 2, 3]);
    expect(events.some((e) => e.type === 'runs' && e.runs.length === before + 2)).toBe(true);

    // a new session on the same store (a reload) lists both, the finished run no longer live
    const second = session();
    await second.restore();
    const again = second.listRuns().slice(before);
    expect(again.map((r) => [r.name, r.state, r.live])).toEqual([
      ['count #1', 'reset', false],
      ['count #2', 'done', false],
    ]);
    expect((await second.getRun(again[1].id))?.points.map((p) => p.values['count/value'])).toEqual([3, 6, 9]);
  });

  it('a run of a stage used after another lists that one in its lineage; a new model starts a new lineage', async () => {
    const s = session(new MemoryRunStore());
    await s.step('twice');
    await s.step('count');
    const [twice, count] = s.listRuns();
    expect(count.lineage).toEqual(['new tiny model', `twice:${twice.id}`]);
    s.newModel({ preset: 'tiny', tokenizer: 'char' });
    expect(s.listRuns().map((r) => [r.stage, r.state, r.live])).toEqual([
      ['twice', 'stopped', false],
      ['count', 'stopped', false],
    ]);
    await s.step('count');
    expect(s.listRuns()[2].lineage).toEqual(['new tiny model']);
  });

  it('renames, colours, hides and deletes runs; bad values are refused and change nothing', async () => {
    const s = session(new MemoryRunStore());
    await runToEnd(s, 'count');
    await s.reset('count');
    await s.step('count');
    const [done, live] = s.listRuns();
    expect(await s.renameRun(done.id, '  by two  ')).toMatchObject({ name: 'by two' });
    await s.updateRun(live.id, { color: '#123abc', hidden: true });
    expect(s.listRuns().map((r) => [r.name, r.color, r.hidden])).toEqual([
      ['by two', done.color, false],
      [live.name, '#123abc', true],
    ]);
    await expect(s.renameRun(done.id, '   ')).rejects.toThrow(/1 to 80 characters/);
    await expect(s.updateRun(done.id, { color: 'red' })).rejects.toThrow(/colour/);
    await expect(s.renameRun('nope', 'x')).rejects.toThrow(/no such run/);
    expect(s.listRuns()[0].name).toBe('by two');

    await s.deleteRun(done.id);
    expect(await s.getRun(done.id)).toBeNull();
    await s.deleteRun(live.id); // the stage's current run: detached, the stage goes on unrecorded
    expect(s.listRuns()).toEqual([]);
    await s.step('count');
    expect(s.listRuns()).toEqual([]);
  });

  it('a stage reset before its first point leaves no run behind', async () => {
    const s = session(new MemoryRunStore());
    await s.step('failing');
    expect(s.listRuns().map((r) => [r.state, r.message, r.pointCount])).toEqual([['error', 'broken', 0]]);
    await s.reset('failing');
    expect(s.listRuns()).toEqual([]);
  });
});

describe('RunRecorder', () => {
  it('marks a stored run that was running or paused as interrupted on load', async () => {
    const store = new MemoryRunStore();
    let listed: RunSummary[] = [];
    const first = new RunRecorder({ store, onChange: (r) => (listed = r), now: () => 5 });
    first.setModel('m');
    first.created('s', { lr: 1 });
    first.metrics('s', { step: 1, kind: 'train', values: { 's/loss': 1 } });
    first.status('s', { state: 'running', step: 1, total: 3 });
    await first.flush();
    expect(listed.map((r) => [r.state, r.live])).toEqual([['running', true]]);

    const second = new RunRecorder({ store, onChange: (r) => (listed = r) });
    await second.load();
    expect(listed.map((r) => [r.state, r.live, r.pointCount])).toEqual([['interrupted', false, 1]]);
    expect((await store.all())[0].state).toBe('interrupted');
  });

  it('gives a new run the least-used colour, so the colour of a deleted run comes back first', async () => {
    const rec = new RunRecorder({ store: new MemoryRunStore(), onChange: () => {} });
    const colours = ['a', 'b', 'c'].map((stage) => rec.created(stage, {}).color);
    expect(colours).toEqual(RUN_COLORS.slice(0, 3));
    await rec.delete(rec.currentOf('b')!.id);
    expect(rec.created('d', {}).color).toBe(RUN_COLORS[1]);
  });

  it('writes points on a timer, and a delete is never undone by a write in flight', async () => {
    const store = new MemoryRunStore();
    const rec = new RunRecorder({ store, onChange: () => {}, flushMs: 10 });
    const run = rec.created('s', {});
    rec.metrics('s', { step: 1, kind: 'train', values: { x: 1 } });
    await new Promise((r) => setTimeout(r, 40));
    expect((await store.get(run.id))?.points).toHaveLength(1);
    rec.metrics('s', { step: 2, kind: 'train', values: { x: 2 } });
    void rec.flush();
    await rec.delete(run.id);
    await new Promise((r) => setTimeout(r, 40));
    expect(await store.all()).toEqual([]);
  });
});
