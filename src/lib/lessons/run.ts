/**
 * One run of a lesson as a Stage, so that the lesson's TrainingLoop can run, pause and single-step it: the
 * registry's descriptor creates the stage from a clone of the context's policy (in a StageContext the lesson
 * supplies), a TrainingLoop steps and evaluates it as the session's does, its metrics get the names the stage
 * runner gives them, and the run's evaluations (evaluations.ts) join the stage's own evaluation. A sweep run
 * trains a fresh stage to its end per step. A run may start `from` the policy an earlier run produced (DPO after the
 * lesson's own SFT). Everything goes into the run's RunRecord.
 */
import { labelerById } from '../data/labelers';
import type { GPT } from '../model/gpt';
import type { Ranking } from '../rlhf/rankings';
import type { RewardModel } from '../rlhf/rewardModel';
import type { RunRecord } from '../runs/record';
import { applySettings, defaultsOf, type SettingValues } from '../settings';
import { namespaced, type StageContext, type StageDescriptor } from '../stages/descriptor';
import { TrainingLoop, type Metrics, type Stage } from '../train/loop';
import { labelerRankings } from './data';
import { RunEvaluations } from './evaluations';
import { M } from './metrics';
import type { LessonContext, LessonRunSpec } from './types';

/**
 * Stages that earlier runs of a lesson produced (its reward models), by the name the runs give them, with the name
 * of their stage in the registry; the lesson runner owns them.
 */
export type Artefacts = Map<string, Artefact>;
export interface Artefact {
  stageName: string;
  stage: Stage;
  /** The policy the run trained (a policy stage's artefact: later runs start `from` it). */
  policy: GPT | null;
  /** Seconds its training steps took (M.trainingSeconds). */
  trainingSeconds: number;
  release(): void;
}

const choose2 = (k: number) => (k * (k - 1)) / 2;

/**
 * A lesson run's model, rankings, the stage an earlier run produced (a reward model), for a run on the labeler's gold
 * its reward function, and the first `demonstrations` of the lesson context's, as a stage's context; no ranking flow,
 * no demonstrations or corpus of the session.
 */
export function lessonStageContext(
  ctx: LessonContext,
  model: GPT,
  rankings: Ranking[],
  used: Artefact | null,
  gold: boolean,
  demonstrations = 0,
): StageContext {
  return {
    model,
    tokenizer: ctx.tokenizer,
    corpus: { train: ctx.pretrainTokens, val: ctx.heldOutPretrainTokens },
    prompts: ctx.prompts,
    heldOutPrompts: ctx.heldOutPrompts,
    rankings,
    demonstrations: (ctx.demonstrations ?? []).slice(0, demonstrations),
    stageObject: (name) => (used?.stageName === name ? used.stage : null),
    stageState: (name) => (used?.stageName === name ? 'done' : 'not-started'),
    goldScorer: (text) => ctx.labeler.gold(text),
    rewardFunction: gold ? (prompt, response) => ctx.labeler.gold(prompt + response) : undefined,
    rankingFlow: { applyPending: async () => {}, refillQueue: async () => {}, rewardTrained: async () => {}, rewardDropped: () => {} },
  };
}

/** A run's settings: its spec's over the descriptor's defaults, checked against the descriptor's spec and rules. */
export function runSettings(d: StageDescriptor, spec: LessonRunSpec): SettingValues {
  const settings = applySettings(d.settings, defaultsOf(d.settings), spec.settings);
  const problem = d.validate?.(settings);
  if (problem) throw new Error(`lesson run ${spec.id}: ${problem}`);
  return settings;
}

/** Steps a run takes, known before it starts. */
export function runSteps(d: StageDescriptor, spec: LessonRunSpec): number {
  if (spec.sweep) return spec.sweep.length;
  const s = runSettings(d, spec);
  const planned = d.plannedSteps(s);
  if (planned > 0) return planned;
  // a stage that knows its steps only once created (its data comes from the session): epochs over the lesson's data
  const items = spec.rankings ? spec.rankings.count : Number(s.demonstrations) + (spec.demonstrations ?? 0);
  const batch = Number(spec.rankings ? s.rankings_per_batch : s.batch_size);
  const steps = Number(s.epochs) * Math.ceil(items / batch);
  if (!Number.isFinite(steps)) throw new Error(`lesson run ${spec.id}: stage ${d.name} plans no steps under these settings`);
  return steps;
}

export function newRecord(spec: LessonRunSpec, totalSteps: number, lesson?: string): RunRecord {
  return {
    id: spec.id,
    name: spec.label,
    stage: spec.stage,
    settings: spec.settings,
    seed: typeof spec.settings.seed === 'number' ? spec.settings.seed : null,
    lineage: [],
    ...(lesson ? { lesson } : {}),
    color: '',
    hidden: false,
    state: 'paused',
    startedAt: 0,
    endedAt: null,
    totalSteps,
    stepsDone: 0,
    points: [],
    seconds: 0,
    samples: [],
  };
}

/** The lesson's control of a stage: steps in parts of about ctx.partMs (the app), or whole; it never stops inside a step. */
const controlOf = (ctx: LessonContext) => ({ onPhase: () => {}, shouldStop: () => false, partMs: ctx.partMs });

const rewardModelOf = (stage: Stage | null) => (stage as { rewardModel?: RewardModel } | null)?.rewardModel;

export class LessonRun implements Stage {
  readonly name: string;
  readonly totalSteps: number;
  stepsDone = 0;
  readonly record: RunRecord;
  private readonly ctx: LessonContext;
  private readonly settings: SettingValues;
  private readonly evaluations: RunEvaluations;
  private policy: GPT | null = null;
  private stage: Stage | null = null;
  private loop: TrainingLoop | null = null;
  private rankings: Ranking[] | null = null;
  /** Seconds of the stage's steps so far, and of the reward model's that it optimises (M.trainingSeconds). */
  private trainingSeconds = 0;

  constructor(
    private readonly spec: LessonRunSpec,
    private readonly descriptor: StageDescriptor,
    ctx: LessonContext,
    private readonly artefacts: Artefacts,
  ) {
    this.name = spec.id;
    const from = spec.from ? artefacts.get(spec.from)?.policy : undefined;
    if (spec.from && !from) throw new Error(`run ${spec.id} starts from the policy "${spec.from}", which no earlier run made`);
    // a run from an earlier run's policy: that policy is its SFT model throughout (reference, rankings, KL)
    this.ctx = { ...ctx, ...(from ? { policy: from } : {}), ...(spec.labeler ? { labeler: labelerById(spec.labeler) } : {}) };
    this.settings = runSettings(descriptor, spec);
    this.totalSteps = runSteps(descriptor, spec);
    this.record = { ...newRecord(spec, this.totalSteps), settings: this.settings };
    this.evaluations = new RunEvaluations(spec, this.settings, this.ctx, this.record);
  }

  async step(): Promise<Metrics> {
    const started = performance.now();
    try {
      return this.spec.sweep ? await this.sweepStep() : await this.stageStep();
    } finally {
      this.record.stepsDone = this.stepsDone;
      this.record.seconds += (performance.now() - started) / 1000;
    }
  }

  /** The labeler's rankings a reward run trains on (the most a sweep uses), sampled once. */
  private async trainingRankings(): Promise<Ranking[]> {
    const r = this.spec.rankings;
    if (!r) return [];
    const { policy, tokenizer, labeler, prompts } = this.ctx;
    this.rankings ??= await labelerRankings(policy, tokenizer, labeler, prompts, r.count, r, `${this.spec.id}-train`);
    return this.rankings;
  }

  /** A fresh stage from the descriptor, on a clone of the context's policy and the first `count` rankings. */
  private async create(count?: number): Promise<Stage> {
    const { spec, descriptor: d } = this;
    const used = spec.reward && spec.reward !== 'gold' ? this.artefacts.get(spec.reward) : null;
    if (used === undefined) throw new Error(`run ${spec.id} needs the reward model "${spec.reward}", which no earlier run made`);
    if (used && this.trainingSeconds === 0) this.trainingSeconds = used.trainingSeconds;
    this.policy ??= this.ctx.policy.clone(true);
    const rankings = (await this.trainingRankings()).slice(0, count);
    const context = lessonStageContext(this.ctx, this.policy, rankings, used, spec.reward === 'gold', spec.demonstrations);
    const blocked = d.blocker?.(context, this.settings);
    if (blocked) throw new Error(`lesson run ${spec.id}: ${blocked}`);
    return d.create(context, this.settings, controlOf(this.ctx));
  }

  /** The stage's own metrics under the names the stage runner gives them, with the run's evaluations beside its evaluation. */
  private evaluated(stage: Stage): Stage {
    const prefix = this.descriptor.metricPrefix ?? this.descriptor.name;
    return {
      name: stage.name,
      totalSteps: stage.totalSteps,
      get stepsDone() {
        return stage.stepsDone;
      },
      step: async () => {
        const started = performance.now();
        const metrics = namespaced(prefix, await stage.step());
        this.trainingSeconds += (performance.now() - started) / 1000;
        return metrics;
      },
      // the run's evaluations replace the stage's own figures of the same name (DPO's objective/kl on its eval prompts)
      evaluate: async () => ({
        ...namespaced(prefix, (await stage.evaluate?.()) ?? {}),
        ...(await this.evaluations.evaluate({ policy: this.policy!, rewardModel: rewardModelOf(stage), step: stage.stepsDone })),
        [M.trainingSeconds]: this.trainingSeconds,
      }),
      restoreLastGood: stage.restoreLastGood?.bind(stage),
      dispose: () => stage.dispose(),
    };
  }

  /** One step of the stage (the TrainingLoop evaluates when due, and before the first step a policy's starting point). */
  private async stageStep(): Promise<Metrics> {
    if (!this.loop) {
      this.stage = await this.create();
      const hooks = { onMetrics: (step: number, values: Metrics, kind: 'train' | 'eval') => this.push(step, kind, values) };
      this.loop = new TrainingLoop(this.evaluated(this.stage), hooks, {
        evalEvery: this.spec.evalEvery,
        evalAtStart: this.evaluations.ofPolicy,
        stepLabel: this.descriptor.stepLabel,
      });
    }
    const metrics = await this.loop.stepOnce();
    if (this.loop.state === 'error') throw new Error(this.loop.message);
    this.stepsDone = this.stage!.stepsDone;
    if (this.stepsDone === this.totalSteps && this.spec.produces) this.handOver();
    return metrics ?? {};
  }

  /** A sweep's step: a fresh stage trained to its end on the first sweep[i] rankings, then evaluated; one eval point. */
  private async sweepStep(): Promise<Metrics> {
    const n = this.spec.sweep![this.stepsDone];
    const k = this.spec.rankings!.k;
    const stage = await this.create(n);
    try {
      let loss = NaN;
      const loop = new TrainingLoop(stage, { onMetrics: (_s, values, kind) => void (kind === 'train' && (loss = values.loss)) });
      await loop.run();
      if (loop.state === 'error') throw new Error(loop.message);
      const evaluated = await this.evaluations.evaluate({ rewardModel: rewardModelOf(stage), step: this.stepsDone + 1 });
      this.stepsDone += 1;
      const values: Metrics = {
        [M.rankings]: n,
        [M.completionsRead]: n * k,
        [M.comparisons]: n * choose2(k),
        ...evaluated,
        [M.rewardSteps]: stage.totalSteps,
        [M.rewardLoss]: loss,
      };
      this.push(this.stepsDone, 'eval', values);
      return values;
    } finally {
      this.release(stage);
    }
  }

  private push(step: number, kind: 'train' | 'eval', values: Metrics): void {
    if (Object.keys(values).length > 0) this.record.points.push({ step, kind, values: { ...values } });
  }

  /**
   * The finished stage and the policy it trained go to the runner under `produces` (a reward model later PPO runs
   * optimise, or a policy later runs start from).
   */
  private handOver(): void {
    const { stage, policy } = this;
    this.artefacts.get(this.spec.produces!)?.release();
    const release = () => {
      this.release(stage!);
      policy?.dispose();
    };
    this.artefacts.set(this.spec.produces!, {
      stageName: this.descriptor.name,
      stage: stage!,
      policy,
      trainingSeconds: this.trainingSeconds,
      release,
    });
    this.stage = null; // the runner owns them now
    this.policy = null;
  }

  /** Frees a stage as its descriptor says (a reward stage: its reward model too); of the context only the no-op ranking flow is used. */
  private release(stage: Stage): void {
    const d = this.descriptor;
    if (d.release) d.release(stage, lessonStageContext(this.ctx, this.ctx.policy, [], null, false));
    else stage.dispose();
  }

  dispose(): void {
    if (this.stage) this.release(this.stage);
    this.policy?.dispose();
    this.stage = null;
    this.loop = null;
    this.policy = null;
  }
}
