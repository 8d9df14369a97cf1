/** Lessons through the session (lessonDesk.ts), at the quick sizes on the tiny fixture: events, pause and step, run history. */
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { LESSONS } from '../../src/lib/lessons';
import { MemoryRunStore } from '../../src/lib/runs/runStore';
import { Session } from '../../src/lib/session/session';
import type { EngineEvent, LessonView } from '../../src/lib/types';
import { FIXTURE_PATH } from './rlhf-stage-fixture';
import { useWasmBackend } from './lessons-setup';

const backend = { name: 'cpu' as const, adapter: 'test', fallbackReasons: [] };

/** The files the session asked for (the app serves public/), read from public/. */
const fetched: string[] = [];
const loadPublic = async (url: string) => {
  fetched.push(url);
  return new Uint8Array(readFileSync(`public${url}`));
};

async function tinySession(events: EngineEvent[]): Promise<Session> {
  const session = new Session(backend, (e) => events.push(e), loadPublic, { runStore: new MemoryRunStore() });
  session.setCorpus({ kind: 'builtin', documents: 300 });
  await session.importCheckpoint(new Uint8Array(readFileSync(FIXTURE_PATH)), 'tiny fixture');
  return session;
}

const lessonEvents = (events: EngineEvent[]): LessonView[] => events.flatMap((e) => (e.type === 'lesson' ? [e.lesson] : []));

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 20));
}

beforeAll(useWasmBackend);

describe('lessons in the session', () => {
  it('lists the eleven lessons at the sizes for the model', async () => {
    const session = await tinySession([]);
    // the eleven of the lesson descriptors, in their order (lessons-engine.test.ts names them)
    expect(session.lessons().map((l) => l.id)).toEqual(LESSONS.map((l) => l.id));
    expect(session.lessons()).toHaveLength(11);
    expect(session.lessons()[3].explanation).toContain('64 rankings'); // tiny sizes: the proxy's rankings
    expect(session.lessons('quick')[3].explanation).toContain('4 rankings');
  });

  it('steps, runs to the end with a summary, and records each lesson run in the history, tagged', async () => {
    const events: EngineEvent[] = [];
    const session = await tinySession(events);
    const first = await session.stepLesson('rankings', 'quick');
    expect(first.status).toMatchObject({ state: 'paused', step: 1, total: 4 });
    expect(first.records[0].points).toHaveLength(1);
    await session.runLesson('rankings', 'quick');
    await until(() => session.lesson()?.status.state === 'done');
    const view = session.lesson()!;
    expect(view.run).toBe(2);
    expect(view.summary).toMatch(/labeler agreement 100 %: held-out accuracy/);
    expect(lessonEvents(events).at(-1)!.status.state).toBe('done');

    // a second run of the same lesson: a new run in the history
    await session.runLesson('rankings', 'quick');
    await until(() => session.lesson()?.status.state === 'done');
    await session.flushRuns();
    const runs = session.listRuns().filter((r) => r.stage === 'lesson:rankings');
    expect(runs.map((r) => [r.lesson, r.state, r.settings.sizes])).toEqual([
      ['rankings', 'done', 'quick'],
      ['rankings', 'done', 'quick'],
    ]);
    const record = (await session.getRun(runs[0].id))!;
    expect(record.points).toHaveLength(4); // two runs of two sweep points
    expect(record.points[0].values['agreement-100:rankings']).toBe(2);
    expect(record.points[3].values['agreement-73:step']).toBe(2);
  });

  it('on a CPU backend the mini model gets the mini-cpu sizes: five lessons on the shipped tiny model, win-rate and dpo with short answers', async () => {
    const session = await tinySession([]);
    await session.importCheckpoint(new Uint8Array(readFileSync('public/checkpoints/default.safetensors')), 'shipped mini');
    const lessons = session.lessons(); // the session's backend is cpu: mini-cpu
    expect(lessons.map((l) => [l.id, l.onTinyModel])).toEqual([
      ['instruction-following', false],
      ['rankings', true],
      ['k-way', true],
      ['over-optimisation', true],
      ['kl-frontier', false],
      ['alignment-tax', false],
      ['win-rate', false],
      ['dpo', false],
      ['verifiable-reward', true],
      ['method-frontier', true],
      ['made-up-facts', false],
    ]);
    expect(lessons[3].explanation).toContain('64 rankings'); // built at the tiny sizes
    expect(lessons[6].explanation).toContain('"Likes short answers"');
    expect(lessons[7].explanation).toContain('"Likes short answers"');
    expect(session.lessons('mini').some((l) => l.onTinyModel)).toBe(false); // a GPU backend: all on the current model

    // a lesson on the tiny model fetches it (the app serves public/checkpoints/) at its first step
    fetched.length = 0;
    const view = await session.stepLesson('over-optimisation');
    expect(view.sizes).toBe('mini-cpu');
    expect(view.status).toMatchObject({ state: 'paused', step: 1 });
    expect(fetched).toEqual(['/checkpoints/tiny.safetensors']);
    await session.flushRuns();
    const run = session.listRuns().find((r) => r.stage === 'lesson:over-optimisation')!;
    expect(run.settings).toMatchObject({ sizes: 'mini-cpu', model: 'shipped tiny' });
  });

  it('lesson 0 fine-tunes a copy of the shipped pretrained model of the current size, not the session model', async () => {
    const session = await tinySession([]);
    const info = session.lessons('quick')[0];
    expect(info).toMatchObject({ id: 'instruction-following', fromPretrained: true, onTinyModel: false });
    fetched.length = 0;
    await session.runLesson('instruction-following', 'quick');
    await until(() => session.lesson()?.status.state === 'done');
    expect(fetched).toEqual(['/checkpoints/tiny.safetensors']); // the session's model is the tiny fixture
    const [run] = session.lesson()!.records;
    const evals = run.points.filter((p) => p.kind === 'eval');
    expect(evals.map((p) => p.step)).toEqual([0, 1, 2]); // before SFT, then each step (evaluated at quick sizes)
    expect(run.points.filter((p) => p.kind === 'train').map((p) => p.step)).toEqual([1, 2]);
    for (const p of [evals[0], evals[2]]) {
      expect(p.values['sft/instruction_following']).toBeGreaterThanOrEqual(0);
      expect(p.values['sft/instruction_following']).toBeLessThanOrEqual(1);
      expect(p.values['sft/val_loss']).toBeGreaterThan(0);
    }
    expect(run.samples.map((s) => s.label)).toEqual(['before SFT (the pretrained model)', 'after 2 SFT steps']);
    expect(run.samples[0].items.map((i) => i.prompt)).toEqual(run.samples[1].items.map((i) => i.prompt));
    expect(run.samples[1].items[0].badge).toMatch(/^follows \d+ of \d+$/);
    expect(session.lesson()!.summary).toMatch(/^Instruction following went from \d+ % \(the pretrained model\) to \d+ % after 2 SFT steps/);
    await session.flushRuns();
    const recorded = session.listRuns().find((r) => r.stage === 'lesson:instruction-following')!;
    expect(recorded.settings).toMatchObject({ sizes: 'quick', model: 'shipped tiny' });
  });

  it('the made-up-facts lesson starts from the shipped task-pretrained model (the shipped tiny one for the tiny preset)', async () => {
    const session = await tinySession([]);
    const info = session.lessons('quick').find((l) => l.id === 'made-up-facts');
    expect(info).toMatchObject({ fromTasks: true, fromPretrained: false, onTinyModel: false });
    fetched.length = 0;
    await session.runLesson('made-up-facts', 'quick');
    await until(() => session.lesson()?.status.state === 'done');
    expect(fetched).toEqual(['/checkpoints/tiny.safetensors']);
    const [sft, dpo] = session.lesson()!.records;
    expect(sft.stepsDone).toBe(1); // 8 built-in stories and 4 task demonstrations, one step of 12
    // DPO from the SFT run's policy, measured on the 4 held-out closed-domain prompts before and after its step
    expect(dpo.points.filter((p) => p.kind === 'eval').map((p) => p.values['tasks/closed_domain'])).toEqual([4, 4]);
    expect(dpo.samples.map((set) => set.items[0].prompt)).toEqual([dpo.samples[0].items[0].prompt, dpo.samples[0].items[0].prompt]);
    expect(dpo.samples[0].items[0].badge).toMatch(/^(made up: |correct|wrong)/);
    expect(session.lesson()!.summary).toMatch(/after SFT \d+ % \(95 % interval .* of 4\), after DPO \d+ %/);
    await session.flushRuns();
    const recorded = session.listRuns().find((r) => r.stage === 'lesson:made-up-facts')!;
    expect(recorded.settings).toMatchObject({ sizes: 'quick', model: 'shipped tiny' });
  });

  it('a stage that runs pauses the lesson; a new model closes it', async () => {
    const session = await tinySession([]);
    await session.runLesson('rankings', 'quick');
    session.configure('pretrain', { steps: 1, batch_size: 2 });
    await session.step('pretrain');
    expect(session.lesson()!.status.state).toBe('paused');
    session.newModel({ preset: 'tiny', tokenizer: 'char' });
    expect(session.lesson()).toBeNull();
    expect(session.listRuns().find((r) => r.stage === 'lesson:rankings')?.state).toMatch(/stopped|paused/);
  });
});
