/**
 * Lessons in the session (issue #11): opens a lesson by id on the current policy, tokenizer, corpus and
 * simulated labeler, and runs its LessonRunner under a TrainingLoop, so that run, pause, step and resume
 * work as for a stage. After each step and state change a 'lesson' event carries the lesson's progress,
 * its runs' records (RunRecord: points and samples) and its measured-result sentence. Each lesson run is
 * recorded in the run history under the stage name `lesson:<id>`, tagged with the lesson: one column per run
 * and metric (`beta-0:objective/gold`, `beta-0:step`), one point of the same kind per point of a run.
 */
import type { Tokenizer } from '../data/tokenizer';
import {
  buildLessons,
  LessonRunner,
  sizesFor,
  tasksLessonContext,
  TINY_SIZES,
  worldLessonContext,
  type Lesson,
  type LessonContext,
} from '../lessons';
import { decodeCheckpoint, probedModelFromCheckpoint } from '../model/checkpoint';
import { presetOf } from '../model/config';
import type { GPT } from '../model/gpt';
import type { RunRecorder } from '../runs/recorder';
import { PART_MS } from '../train/breather';
import { TrainingLoop, type LoopState } from '../train/loop';
import type { TokenSplit } from '../train/pretrain';
import type { EngineEvent, LessonInfo, LessonSizeName, LessonView, MetricPoint, StageState, StageStatus } from '../types';

/** The labeler whose taste the lessons teach when lecture mode has none chosen. */
const DEFAULT_LABELER = 'dog-lover';

/** The shipped tiny model, for the lessons that the sizes run on it (LessonSizes.onTinyModel); the app serves public/. */
const TINY_CHECKPOINT_URL = '/checkpoints/tiny.safetensors';
/** The shipped pretrained mini model, lesson 0's start (Lesson.base 'pretrained') for any model but the tiny one. */
const MINI_CHECKPOINT_URL = '/checkpoints/default.safetensors';
/** The shipped task-pretrained mini model, the start of the lessons on the task families (Lesson.base 'tasks'). */
const TASKS_CHECKPOINT_URL = '/checkpoints/tasks.safetensors';
const MODEL_NAMES: Record<string, string> = {
  [TINY_CHECKPOINT_URL]: 'shipped tiny',
  [MINI_CHECKPOINT_URL]: 'shipped mini',
  [TASKS_CHECKPOINT_URL]: 'shipped task-pretrained mini',
};

export interface LessonHost {
  /** The backend the engine runs on: lessons on wasm or cpu use smaller sizes. */
  backend(): string;
  /** Reads a file the app ships (public/), as the session loads its checkpoints. */
  loadBytes(url: string): Promise<Uint8Array>;
  policy(): { model: GPT; tokenizer: Tokenizer };
  /** The session's corpus as tokens (PPO-ptx's pretraining data and the held-out loss), when there is one. */
  corpus(): TokenSplit | null;
  /** Lecture mode's labeler, if one is chosen. */
  labelerId(): string | null;
  /** Stages share the GPU with a lesson: they pause before it runs. */
  pauseStages(): Promise<void>;
  runs: RunRecorder;
  emit(e: EngineEvent): void;
}

interface OpenLesson {
  lesson: Lesson;
  onTinyModel: boolean;
  sizes: LessonSizeName;
  runner: LessonRunner;
  loop: TrainingLoop;
  /** Series points of each run already written to the run history. */
  recorded: number[];
  points: number;
}

const stageState = (state: LoopState): StageState => (state === 'idle' ? 'not-started' : state);

/** What the UI shows of a lesson before it runs: everything but its code. */
function infoOf({ lesson, onTinyModel }: { lesson: Lesson; onTinyModel: boolean }): LessonInfo {
  const { id, title, explanation, paperFinding, charts } = lesson;
  const runs = lesson.runs.map((r) => ({ id: r.id, label: r.label, stage: r.stage }));
  const from = { fromPretrained: lesson.base === 'pretrained', fromTasks: lesson.base === 'tasks' };
  return { id, title, explanation, paperFinding, charts, runs, onTinyModel, ...from };
}

/** The lessons at sizes `name`; those the sizes put on the shipped tiny model are built at TINY_SIZES. */
function lessonsAt(name: LessonSizeName): { lesson: Lesson; onTinyModel: boolean }[] {
  const sizes = sizesFor(name);
  const onTiny = new Set(sizes.onTinyModel ?? []);
  const tiny = onTiny.size ? buildLessons(TINY_SIZES) : [];
  return buildLessons(sizes).map((lesson) =>
    onTiny.has(lesson.id) ? { lesson: tiny.find((l) => l.id === lesson.id)!, onTinyModel: true } : { lesson, onTinyModel: false },
  );
}

export class LessonDesk {
  private open: OpenLesson | null = null;
  /** Shipped checkpoints by URL, each fetched once when a lesson first needs it. */
  private readonly shipped = new Map<string, Promise<{ model: GPT; tokenizer: Tokenizer }>>();

  constructor(private readonly host: LessonHost) {}

  /**
   * The sizes for the current model and backend: tiny's for the tiny preset; for any other model mini's on a GPU
   * backend (webgpu, webgl), mini-cpu's (fewer, shorter rollouts and iterations) on wasm or cpu.
   */
  private defaultSizes(): LessonSizeName {
    if (presetOf(this.host.policy().model.config) === 'tiny') return 'tiny';
    const backend = this.host.backend();
    return backend === 'wasm' || backend === 'cpu' ? 'mini-cpu' : 'mini';
  }

  /** The lessons at the sizes they would run at now. */
  list(sizes: LessonSizeName = this.defaultSizes()): LessonInfo[] {
    return lessonsAt(sizes).map(infoOf);
  }

  view(): LessonView | null {
    const o = this.open;
    if (!o) return null;
    return {
      id: o.lesson.id,
      stage: o.runner.name,
      sizes: o.sizes,
      status: this.status(o),
      run: o.runner.done ? o.runner.records.length : o.runner.records.indexOf(o.runner.currentRun!),
      records: o.runner.records,
      summary: o.runner.summary(),
      seconds: o.runner.records.reduce((s, r) => s + r.seconds, 0),
    };
  }

  /** Opens lesson `id` afresh (a new run in the history); it waits, not started, for run or step. */
  start(id: string, sizes: LessonSizeName = this.defaultSizes()): LessonView {
    const found = lessonsAt(sizes).find((l) => l.lesson.id === id);
    if (!found) throw new Error(`There is no lesson "${id}".`);
    const { lesson, onTinyModel } = found;
    this.close();
    const labeler = this.host.labelerId() ?? DEFAULT_LABELER;
    const checkpoint = this.checkpointFor(lesson, onTinyModel);
    const inParts = (ctx: LessonContext): LessonContext => ({ ...ctx, partMs: PART_MS }); // steps in parts, as a stage's
    const runner = new LessonRunner(
      lesson,
      checkpoint ? async () => inParts(await this.shippedContext(checkpoint, lesson, labeler)) : inParts(this.context(labeler)),
    );
    const loop = new TrainingLoop(runner, { onMetrics: () => this.record(open), onState: () => this.changed(open) });
    const open: OpenLesson = { lesson, onTinyModel, sizes, runner, loop, recorded: runner.records.map(() => 0), points: 0 };
    this.open = open;
    const model = checkpoint ? MODEL_NAMES[checkpoint] : undefined;
    this.host.runs.created(runner.name, model ? { sizes, labeler, model } : { sizes, labeler }, lesson.id);
    this.emitView(open);
    return this.view()!;
  }

  /** Runs lesson `id` from where it is; opens it afresh when another lesson (or sizes) is open, or it has finished. */
  async run(id: string, sizes?: LessonSizeName): Promise<LessonView> {
    const o = this.ensure(id, sizes);
    await this.host.pauseStages();
    void o.loop.run();
    return this.view()!;
  }

  /** One step of lesson `id` (opened as for run). */
  async step(id: string, sizes?: LessonSizeName): Promise<LessonView> {
    const o = this.ensure(id, sizes);
    await this.host.pauseStages();
    await o.loop.stepOnce();
    return this.view()!;
  }

  /** Stops the open lesson after the step in flight; resolves once it has. */
  async pause(): Promise<void> {
    await this.open?.loop.pause();
  }

  /** Whether the open lesson is training now. */
  get active(): boolean {
    const state = this.open?.loop.state;
    return state === 'running' || state === 'pausing';
  }

  /** Drops the open lesson (a new model or corpus, or another lesson); its run stays in the history as it ended. */
  close(): void {
    const o = this.open;
    if (!o) return;
    if (o.loop.state === 'running' || o.loop.state === 'pausing') o.loop.state = 'paused';
    this.open = null;
    this.host.runs.stop(o.runner.name);
    o.runner.dispose();
  }

  private ensure(id: string, sizes?: LessonSizeName): OpenLesson {
    const o = this.open;
    const finished = o && (o.loop.state === 'done' || o.loop.state === 'error');
    if (!o || o.lesson.id !== id || (sizes && sizes !== o.sizes) || finished) this.start(id, sizes);
    return this.open!;
  }

  /** The world's prompts and the labeler's taste; PPO-ptx's pretraining text from the session's corpus when it has one. */
  private context(labeler: string): LessonContext {
    const { model, tokenizer } = this.host.policy();
    const ctx = worldLessonContext(model, tokenizer, { labeler });
    const corpus = this.host.corpus();
    if (!corpus || corpus.train.length < 2 * model.config.blockSize) return ctx;
    return {
      ...ctx,
      pretrainTokens: corpus.train,
      heldOutPretrainTokens: corpus.val.length > model.config.blockSize ? corpus.val : ctx.heldOutPretrainTokens,
    };
  }

  /**
   * The shipped checkpoint a lesson's runs start from instead of the current model: the tiny one for a lesson the sizes
   * put on it; for a lesson from the pretrained model, the shipped pretrained model of the current size (tiny or mini).
   */
  private checkpointFor(lesson: Lesson, onTinyModel: boolean): string | null {
    if (onTinyModel) return TINY_CHECKPOINT_URL;
    if (lesson.base !== 'pretrained' && lesson.base !== 'tasks') return null;
    if (presetOf(this.host.policy().model.config) === 'tiny') return TINY_CHECKPOINT_URL;
    return lesson.base === 'tasks' ? TASKS_CHECKPOINT_URL : MINI_CHECKPOINT_URL;
  }

  /**
   * The world's prompts and pretraining text (or, for a lesson on the task families, their prompts and demonstrations)
   * on a shipped model (fetched the first time), for its own tokenizer.
   */
  private async shippedContext(url: string, lesson: Lesson, labeler: string): Promise<LessonContext> {
    let loading = this.shipped.get(url);
    if (!loading) {
      loading = (async () => {
        const bytes = await this.host.loadBytes(url).catch((err: Error) => {
          throw new Error(`The shipped model (${url}) could not be loaded: ${err.message}`);
        });
        const ckpt = decodeCheckpoint(bytes);
        return { model: await probedModelFromCheckpoint(ckpt), tokenizer: ckpt.tokenizer };
      })();
      this.shipped.set(url, loading);
    }
    try {
      const { model, tokenizer } = await loading;
      if (lesson.base === 'tasks' && lesson.tasks) return tasksLessonContext(model, tokenizer, { ...lesson.tasks, labeler });
      return worldLessonContext(model, tokenizer, { labeler });
    } catch (err) {
      this.shipped.delete(url); // try again next time
      throw err;
    }
  }

  private status(o: OpenLesson): StageStatus {
    const { runner, loop } = o;
    return { state: stageState(loop.state), step: runner.stepsDone, total: runner.totalSteps, message: loop.message || undefined };
  }

  /** The runs' new points go to the run history, then the UI hears the lesson. */
  private record(o: OpenLesson): void {
    o.runner.records.forEach((r, i) => {
      for (const p of r.points.slice(o.recorded[i])) this.host.runs.metrics(o.runner.name, this.historyPoint(o, r.id, p));
      o.recorded[i] = r.points.length;
    });
    this.emitView(o);
  }

  /** One point of a run as a run-history point of its kind: its values under `<run>:<metric>`, and its own step. */
  private historyPoint(o: OpenLesson, run: string, p: MetricPoint): MetricPoint {
    const values: Record<string, number> = { [`${run}:step`]: p.step };
    for (const [k, v] of Object.entries(p.values)) values[`${run}:${k}`] = v;
    return { step: ++o.points, kind: p.kind, values };
  }

  private changed(o: OpenLesson): void {
    if (o !== this.open) return;
    this.host.runs.status(o.runner.name, this.status(o)); // never 'not-started' here: the loop only leaves idle
    this.emitView(o);
  }

  private emitView(o: OpenLesson): void {
    if (o === this.open) this.host.emit({ type: 'lesson', lesson: this.view()! });
  }
}
