/**
 * Runs a lesson's runs one after another as a single Stage: hand it to a TrainingLoop for run, pause and
 * single-step (one step = one step of the current run), or call step() yourself. After each step,
 * `records` holds every run's metric series so far and summary() words the result.
 *
 *   const runner = new LessonRunner(LESSONS_BY_ID['over-optimisation'], context);
 *   const loop = new TrainingLoop(runner, { afterStep: () => draw(runner.records) });
 *   await loop.run(); // or loop.stepOnce(), loop.pause()
 *   runner.summary(); runner.dispose();
 */
import type { RunRecord } from '../runs/record';
import type { StageDescriptor } from '../stages/descriptor';
import { BUILT_IN_STAGES } from '../stages/registry';
import type { Metrics, Stage } from '../train/loop';
import { LessonRun, newRecord, runSteps, type Artefacts } from './run';
import type { Lesson, LessonContext, LessonRunSpec } from './types';

export class LessonRunner implements Stage {
  readonly name: string;
  readonly totalSteps: number;
  stepsDone = 0;
  /** One record per run of the lesson, in order; filled in as the runs step. */
  readonly records: RunRecord[];
  private readonly artefacts: Artefacts = new Map();
  private current: LessonRun | null = null;
  private index = 0;
  private ctx: LessonContext | null;

  /**
   * `context` may be a loader (a model fetched first, say): it is called once, at the first step. `stages`: the
   * registry whose descriptors the runs name (default: the built-in stages).
   */
  constructor(
    readonly lesson: Lesson,
    private readonly context: LessonContext | (() => Promise<LessonContext>),
    private readonly stages: readonly StageDescriptor[] = BUILT_IN_STAGES,
  ) {
    this.ctx = typeof context === 'function' ? null : context;
    this.name = `lesson:${lesson.id}`;
    this.records = lesson.runs.map((spec) => newRecord(spec, runSteps(this.descriptor(spec), spec), lesson.id));
    this.totalSteps = this.records.reduce((s, r) => s + r.totalSteps, 0);
    const names = new Set<string>();
    for (const spec of lesson.runs) {
      if (spec.from && !names.has(spec.from)) {
        throw new Error(`lesson ${lesson.id}: run ${spec.id} starts from policy "${spec.from}" before any run makes it`);
      }
      if (spec.produces) names.add(spec.produces);
      if (spec.reward && spec.reward !== 'gold' && !names.has(spec.reward)) {
        throw new Error(`lesson ${lesson.id}: run ${spec.id} uses reward model "${spec.reward}" before any run makes it`);
      }
    }
  }

  private descriptor(spec: LessonRunSpec): StageDescriptor {
    const found = this.stages.find((d) => d.name === spec.stage);
    if (!found) throw new Error(`lesson ${this.lesson.id}: run ${spec.id} names no registered stage ("${spec.stage}")`);
    return found;
  }

  /** The run that the next step advances (null when the lesson is done). */
  get currentRun(): RunRecord | null {
    return this.records[this.index] ?? null;
  }

  get done(): boolean {
    return this.stepsDone >= this.totalSteps;
  }

  /** One step of the current run; the run's own metrics plus `lesson/run` (the run's index). */
  async step(): Promise<Metrics> {
    if (this.done) throw new Error(`lesson ${this.lesson.id} is finished`);
    if (!this.current) {
      this.ctx ??= await (this.context as () => Promise<LessonContext>)();
      const spec = this.lesson.runs[this.index];
      this.current = new LessonRun(spec, this.descriptor(spec), this.ctx, this.artefacts);
      this.current.record.lesson = this.lesson.id;
      // the stage records into the runner's record from here on
      this.records[this.index] = this.current.record;
    }
    const runIndex = this.index;
    const metrics = await this.current.step();
    this.stepsDone += 1;
    if (this.current.stepsDone >= this.current.totalSteps) {
      this.current.dispose();
      this.current = null;
      this.index += 1;
    }
    return { ...metrics, 'lesson/run': runIndex };
  }

  /** Steps to the end (scripts and tests; the UI uses a TrainingLoop). */
  async runAll(onStep?: (runner: LessonRunner) => void): Promise<RunRecord[]> {
    while (!this.done) {
      await this.step();
      onStep?.(this);
    }
    return this.records;
  }

  /** The lesson's measured-result sentence from the runs so far. */
  summary(): string {
    return this.lesson.summarise(this.records);
  }

  /** Frees the run in progress and the reward models and policies the runs made; the context is left alone. */
  dispose(): void {
    this.current?.dispose();
    this.current = null;
    for (const artefact of this.artefacts.values()) artefact.release();
    this.artefacts.clear();
  }
}
