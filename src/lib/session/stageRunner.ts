/**
 * Runs the registered stages: their settings, creating a stage when it starts, run / pause / step /
 * reset, one stage training at a time, and their events. Knows stages only through their descriptors.
 */
import type { GPT } from '../model/gpt';
import { applySettings, defaultsOf, type SettingValues } from '../settings';
import { namespaced, type StageContext, type StageControl, type StageDescriptor } from '../stages/descriptor';
import { DivergenceWatch, divergenceNotice } from '../train/divergence';
import { TrainingLoop, type Metrics, type Stage } from '../train/loop';
import { PART_MS } from '../train/breather';
import type { MetricPoint, SampleView, StageName, StagePhase, StageState, StageStatus } from '../types';

/** Phase reports within a step reach the UI at most this often (a phase change of name always does). */
const PHASE_EMIT_MS = 100;

interface RunningStage {
  stage: Stage;
  loop: TrainingLoop;
  /** The policy's weights when the stage began, restored by reset. */
  snapshot: GPT;
  /** The run's training loss, to flag a divergence. */
  watch: DivergenceWatch;
}

export interface RunnerHost {
  context(): StageContext;
  onMetrics(stage: StageName, point: MetricPoint): void;
  onStatus(stage: StageName, status: StageStatus): void;
  /** Fresh samples of the policy for stages with a sample_every setting. */
  samplePolicy(step: number): Promise<SampleView[]>;
  emitSamples(stage: StageName, step: number, samples: SampleView[]): void;
  /** A stage was created afresh under these settings: a new run begins (the run recorder). */
  onCreate?(stage: StageName, settings: SettingValues): void;
  /** A stage finished a step (its weights changed), before its afterStep work. */
  onStepped?(stage: StageName, step: number): void;
  /** A stage was reset (the weights went back). */
  onReset?(stage: StageName): void;
  /** Work beside a stage's steps failed (the next step's tries again). */
  onWarning?(message: string): void;
}

/** A state in which the stage's loop still runs (a pause asked for takes effect at its next boundary). */
export function isActive(state: StageState): boolean {
  return state === 'running' || state === 'pausing';
}

export { namespaced };

export class StageRunner {
  readonly settings: Record<StageName, SettingValues>;
  private readonly running = new Map<StageName, RunningStage>();
  private readonly phases = new Map<StageName, { phase: StagePhase; emittedAt: number }>();
  /** Work off a stage's step path now under way (a task refill, the sample stream), by stage and name: its progress. */
  private readonly asides = new Map<StageName, Map<string, StagePhase>>();

  constructor(
    readonly stages: readonly StageDescriptor[],
    private readonly host: RunnerHost,
  ) {
    this.settings = Object.fromEntries(stages.map((d) => [d.name, defaultsOf(d.settings)]));
  }

  descriptor(name: StageName): StageDescriptor {
    const found = this.stages.find((d) => d.name === name);
    if (!found) throw new Error(`There is no stage named "${name}".`);
    return found;
  }

  configure(name: StageName, changes: SettingValues): SettingValues {
    const d = this.descriptor(name);
    if (isActive(this.state(name))) throw new Error('Pause the stage before changing its settings.');
    const next = applySettings(d.settings, this.settings[name], changes);
    const problem = d.validate?.(next);
    if (problem) throw new Error(problem);
    this.settings[name] = next;
    return next;
  }

  state(name: StageName): StageState {
    const state = this.running.get(name)?.loop.state;
    return !state || state === 'idle' ? 'not-started' : state;
  }

  status(name: StageName): StageStatus {
    const r = this.running.get(name);
    if (!r) return { state: 'not-started', step: 0, total: this.descriptor(name).plannedSteps(this.settings[name]) };
    const state = this.state(name);
    const phase = isActive(state) ? this.phases.get(name)?.phase : undefined;
    const message = r.loop.message || undefined;
    const extraSteps = r.stage.extraSteps || undefined;
    const asides = [...(this.asides.get(name)?.values() ?? [])];
    const aside = asides.length > 0 ? asides : undefined;
    return { state, step: r.stage.stepsDone, total: r.stage.totalSteps, extraSteps, message, phase, aside, warning: this.warning(name, r) };
  }

  /** The notice of a run whose loss has risen far above where it started, or undefined. */
  private warning(name: StageName, r: RunningStage): string | undefined {
    const diverged = r.watch.verdict();
    const d = this.descriptor(name);
    return diverged ? divergenceNotice(d.lossMetric ?? 'loss', diverged, d.settings, this.settings[name]) : undefined;
  }

  /** A stage's object while it exists (trained or not), e.g. the reward model. */
  object(name: StageName): Stage | null {
    return this.running.get(name)?.stage ?? null;
  }

  /** Whether a stage that uses `name`'s object is running now. */
  usersRunning(name: StageName): boolean {
    return this.stages.some((d) => d.uses?.includes(name) && isActive(this.state(d.name)));
  }

  async run(name: StageName): Promise<void> {
    await this.pauseOthers(name);
    void this.ensure(name).loop.run();
  }

  async pause(name: StageName): Promise<void> {
    await this.running.get(name)?.loop.pause();
  }

  async step(name: StageName): Promise<void> {
    await this.pauseOthers(name);
    await this.ensure(name).loop.stepOnce();
  }

  /** Undoes a stage: restores the weights from before it began and clears its progress. */
  async reset(name: StageName, model: GPT): Promise<void> {
    this.refuseWhileUsed(name);
    const r = this.running.get(name);
    if (!r) return;
    await r.loop.pause();
    model.copyFrom(r.snapshot);
    this.dispose(name);
    this.host.onReset?.(name);
    this.host.onStatus(name, this.status(name));
  }

  /** Drops every stage without asking (a new model or corpus makes them meaningless). */
  stopAll(): void {
    for (const d of [...this.stages].reverse()) {
      const r = this.running.get(d.name);
      if (r) r.loop.state = 'paused';
      this.dispose(d.name);
    }
  }

  /**
   * Recreates a stage from an autosave: built from the context as when it started, then `prepare` loads
   * its saved weights and progress; it waits paused (or done) for the user. Reset then returns to the
   * weights as restored.
   */
  adopt(name: StageName, state: 'paused' | 'done', prepare: (stage: Stage) => void): void {
    const d = this.descriptor(name);
    const ctx = this.host.context();
    const stage = d.create(ctx, this.settings[name], this.control(name));
    try {
      prepare(stage);
    } catch (err) {
      if (d.release) d.release(stage, ctx);
      else stage.dispose();
      throw err;
    }
    const evalEvery = Number(this.settings[name].eval_every ?? d.evalEvery ?? 0);
    const loop = new TrainingLoop(stage, this.hooks(d), { evalEvery, stepLabel: d.stepLabel });
    loop.state = state;
    this.running.set(name, { stage, loop, snapshot: ctx.model.clone(false), watch: new DivergenceWatch() });
    this.host.onStatus(name, this.status(name));
  }

  /** Only one stage trains at a time: they share the model and the GPU. */
  private async pauseOthers(except: StageName): Promise<void> {
    for (const d of this.stages) if (d.name !== except) await this.running.get(d.name)?.loop.pause();
  }

  private refuseWhileUsed(name: StageName): void {
    const user = this.stages.find((d) => d.uses?.includes(name) && this.running.has(d.name));
    if (user) throw new Error(`Reset ${user.title} first: it is using the current ${this.descriptor(name).title.toLowerCase()}.`);
  }

  private ensure(name: StageName): RunningStage {
    const existing = this.running.get(name);
    if (existing && existing.loop.state !== 'done' && existing.loop.state !== 'error') return existing;
    const d = this.descriptor(name);
    const ctx = this.host.context();
    const blocked = d.blocker?.(ctx, this.settings[name]);
    if (blocked) throw new Error(blocked);
    if (existing) {
      this.refuseWhileUsed(name);
      this.dispose(name);
    }
    const stage = d.create(ctx, this.settings[name], this.control(name));
    const evalEvery = Number(this.settings[name].eval_every ?? d.evalEvery ?? 0);
    const loop = new TrainingLoop(stage, this.hooks(d), { evalEvery, evalAtStart: d.evalAtStart ?? false, stepLabel: d.stepLabel });
    const created = { stage, loop, snapshot: ctx.model.clone(false), watch: new DivergenceWatch() };
    this.running.set(name, created);
    this.host.onCreate?.(name, this.settings[name]);
    return created;
  }

  /** What a stage may call inside a step: phase reports, and whether to stop at its next boundary. */
  private control(name: StageName): StageControl {
    return {
      onPhase: (phase) => this.setPhase(name, phase),
      shouldStop: () => this.running.get(name)?.loop.stopRequested ?? true,
      partMs: PART_MS,
      aside: (start, run) => this.aside(name, start, run),
    };
  }

  /** Runs work off the stage's step path, its progress in the status; the samples it returns are shown. */
  private aside(name: StageName, start: StagePhase, run: (report: (phase: StagePhase) => void) => Promise<SampleView[] | void>): void {
    const work = start.name;
    const stage = this.running.get(name)?.stage;
    const under = this.asides.get(name) ?? new Map<string, StagePhase>();
    if (!stage || under.has(work)) return;
    this.asides.set(name, under);
    const step = stage.stepsDone;
    let emittedAt = 0;
    const report = (phase: StagePhase) => {
      under.set(work, phase);
      if (Date.now() - emittedAt < PHASE_EMIT_MS && phase.done !== phase.total) return;
      emittedAt = Date.now();
      this.host.onStatus(name, this.status(name));
    };
    report(start);
    const stillThere = () => this.running.get(name)?.stage === stage;
    void run(report)
      .then((samples) => {
        if (samples && stillThere()) this.host.emitSamples(name, step, samples);
      })
      // a stage reset under it (its models freed) is no error; otherwise the next step's aside tries again
      .catch((err: Error) => stillThere() && this.host.onWarning?.(`${work} beside ${name} failed: ${err.message}`))
      .finally(() => {
        under.delete(work);
        if (stillThere()) this.host.onStatus(name, this.status(name));
      });
  }

  private setPhase(name: StageName, phase: StagePhase): void {
    const last = this.phases.get(name);
    const now = Date.now();
    const due = !last || last.phase.name !== phase.name || now - last.emittedAt >= PHASE_EMIT_MS || phase.done === phase.total;
    this.phases.set(name, { phase, emittedAt: due ? now : last.emittedAt });
    if (due) this.host.onStatus(name, this.status(name));
  }

  private hooks(d: StageDescriptor) {
    const prefix = d.metricPrefix ?? d.name;
    return {
      onMetrics: (step: number, values: Metrics, kind: 'train' | 'eval') => {
        if (kind === 'train') this.running.get(d.name)?.watch.add(values[d.lossMetric ?? 'loss']);
        this.host.onMetrics(d.name, { step, kind, values: namespaced(prefix, values) });
      },
      onState: (state: string) => {
        this.host.onStatus(d.name, this.status(d.name));
        const r = this.running.get(d.name);
        if (state === 'done' && r && d.onDone) void d.onDone(r.stage, this.host.context());
      },
      afterStep: async (step: number) => {
        this.phases.delete(d.name);
        this.host.onStepped?.(d.name, step);
        const r = this.running.get(d.name);
        const every = Number(this.settings[d.name].sample_every ?? 0);
        const samples =
          r && d.afterStep
            ? await d.afterStep(r.stage, step, this.host.context(), this.control(d.name))
            : every > 0 && step % every === 0
              ? await this.host.samplePolicy(step)
              : undefined;
        if (samples) this.host.emitSamples(d.name, step, samples);
      },
    };
  }

  private dispose(name: StageName): void {
    const r = this.running.get(name);
    if (!r) return;
    this.running.delete(name);
    this.phases.delete(name);
    this.asides.delete(name);
    const release = this.descriptor(name).release;
    if (release) release(r.stage, this.host.context());
    else r.stage.dispose();
    r.snapshot.dispose();
  }
}
