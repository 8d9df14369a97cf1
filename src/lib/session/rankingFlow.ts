/**
 * The path of a ranking: a task (a prompt with K completions from the newest policy) is handed out,
 * ranked, checked, stored, and handed to the stages that take live rankings; a submit returns once the
 * ranking is stored. A stage training now takes it into its set; for the reward model (the scorer) once
 * trained, queued rankings arrive together: in the background, or, while a stage that uses it runs
 * (PPO-ptx), at that stage's next step boundary. Also the user's demonstrations and JSONL files. DOM-free.
 */
import {
  kError,
  parseRankingsFile,
  preferencePairsToJsonl,
  rankingOfTask,
  rankingsToJsonl,
  validateRanking,
  type Ranking,
  type RankingSource,
} from '../rlhf/rankings';
import { heldOutOf } from '../rlhf/rewardTrainer';
import type { Demonstration } from '../rlhf/sft';
import { familyOfPrompt } from '../data/tasks/families';
import { formatPrompt } from '../data/world';
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../data/tokenizer';
import type { RankingScorer } from '../stages/descriptor';
import type {
  HeldOutAccuracy,
  MetricPoint,
  RankingCounters,
  RankingSubmitResult,
  RankingTask,
  RewardUpdateInfo,
  StagePhase,
} from '../types';
import type { RankingStore } from './rankingStore';
import { RewardApplier } from './rewardApplier';
import { TaskQueue } from './taskQueue';
import { sampleCompletions } from './taskSampling';

/** Tasks kept ready so that the next shows at once: refilled after each PPO-ptx step, and each task handed out while idle. */
export const QUEUE_LENGTH = 4;
/** An update reports the new scores of this many of the rankings it applied (the newest). */
const PREDICTIONS_REPORTED = 4;

/** What the flow needs of the session around it. */
export interface RankingFlowHost {
  policy(): { model: GPT; tokenizer: Tokenizer };
  prompts(): readonly string[];
  /** The live reward model (the stage's scorer) and whether it is training now. */
  reward(): { stage: RankingScorer; training: boolean } | null;
  /** Each stage that takes new rankings into its training set now (the reward model while it trains). */
  liveLearners(): ((added: Ranking[]) => void)[];
  /** A stage that reads the reward model is running: updates wait for its next step boundary, and report it. */
  rewardInUse(): boolean;
  /** Which policy writes tasks now: the task-writing stage's step (a PPO iteration), 0 before one exists. */
  policyIteration(): number;
  /** The live policy's version and a name for it ("PPO-ptx iteration 3", "SFT", …). */
  policyVersion(): number;
  policyOrigin(): string;
  /** Whether the task-writing stage is running (tasks are scarce then). */
  policyTraining(): boolean;
  /** Whether no stage is training: spare tasks are then sampled in the background as tasks are handed out. */
  stagesIdle(): boolean;
  /** A stage waits to start: a background reward-model update gives way at its next boundary. */
  runWaiting(): boolean;
  onRewardUpdate(update: RewardUpdateInfo): void;
  onError(message: string): void;
  samplingSettings(): { temperature: number; maxNewTokens: number };
  onCounters(counters: RankingCounters): void;
  onRewardMetrics(point: Omit<MetricPoint, 'step'>): void;
}

export class RankingFlow {
  rankings: Ranking[] = [];
  demonstrations: Demonstration[] = [];
  readonly queue = new TaskQueue<RankingTask>(QUEUE_LENGTH);
  private readonly open = new Map<string, RankingTask>();
  /** Rankings on their way to the reward model, applied together when it is free. */
  private readonly applier: RewardApplier<Ranking>;
  private heldOut: HeldOutAccuracy | null = null;
  private rewardUpdates = 0;
  private appliedAtIteration: number | null = null;
  private taskCount = 0;
  private promptCursor = 0;
  private refilling: Promise<void> | null = null;
  private refillVersion = -1;
  /** Tasks sampled before this version are of an earlier lineage: a refill under way drops them. */
  private lineageStart = 0;
  /** The held-out figures and new scores of the last update, computed off the path of the next step. */
  private reporting: Promise<void> = Promise.resolve();
  /** Where the update at the current step boundary reports its steps (the stage's phase), if any. */
  private stepReport?: (phase: StagePhase) => void;

  constructor(
    private readonly host: RankingFlowHost,
    readonly store: RankingStore,
  ) {
    this.applier = new RewardApplier<Ranking>({
      canApply: (atBoundary) => {
        const reward = host.reward();
        return reward !== null && !reward.training && (atBoundary || !host.rewardInUse());
      },
      apply: (batch, stop) => this.update(batch, stop),
      yieldTo: () => host.runWaiting(),
      // an update cut short because the reward model was dropped under it (a new model or corpus) is no error
      onError: (err) => host.reward() && host.onError(`A reward-model update failed: ${(err as Error)?.message ?? err}`),
      defer: (work) => setTimeout(work, 0),
    });
  }

  /** Restores what earlier visits stored. */
  async load(): Promise<void> {
    this.rankings = await this.store.loadRankings();
    this.demonstrations = await this.store.loadDemonstrations();
    this.emitCounters();
  }

  counters(): RankingCounters {
    return {
      rankings: this.rankings.length,
      pairs: this.rankings.reduce((n, r) => n + (r.order.length * (r.order.length - 1)) / 2, 0),
      heldOut: this.heldOut,
      rewardUpdates: this.rewardUpdates,
      queued: this.queue.length,
      waitingForReward: this.applier.pending,
      appliedAtIteration: this.appliedAtIteration,
      demonstrations: this.demonstrations.length,
    };
  }

  emitCounters(): void {
    this.host.onCounters(this.counters());
  }

  // ---- tasks ----

  /** A prompt with k completions sampled now from the current policy, scored by the reward model when there is one. */
  async sampleTask(k: number): Promise<RankingTask> {
    return (await this.sampleTasks(k, 1))[0];
  }

  /** `count` prompts with k completions each, sampled in one batch (taskSampling.ts); none once `stop()` is true. */
  async sampleTasks(k: number, count: number, stop?: () => boolean, report?: (phase: StagePhase) => void): Promise<RankingTask[]> {
    const problem = kError(k);
    if (problem) throw new Error(problem);
    // the policy that writes them, as it is now (a step may end while they sample)
    const [version, origin, iteration] = [this.host.policyVersion(), this.host.policyOrigin(), this.host.policyIteration()];
    const pool = this.host.prompts();
    const prompts = Array.from({ length: count }, () => pool[this.promptCursor++ % pool.length]);
    const seed = (this.promptCursor * 7919) >>> 0;
    const texts = await sampleCompletions(this.host.policy(), prompts, k, { ...this.host.samplingSettings(), seed, stop, report });
    if (!texts) return [];
    const written = prompts.map((prompt, i) => ({ prompt, completions: texts[i] }));
    const reward = this.host.reward();
    const predicted = reward ? await reward.stage.predictMany(written) : [];
    return written.map(({ prompt, completions }, i) => ({
      id: `r${Date.now().toString(36)}-${(this.taskCount++).toString(36)}`,
      prompt,
      family: familyOfPrompt(prompt),
      completions,
      iteration,
      version,
      origin,
      predicted: predicted[i],
    }));
  }

  /**
   * Tops the queue up from the live policy (the tasks it has not written yet), in one batch, one refill at a time (a
   * call waits for the one under way, or follows an older one). Given up once `stop()`; an ended lineage's are dropped,
   * and those of prompts that a task mix set meanwhile no longer draws.
   */
  refillQueue(k: number, stop?: () => boolean, report?: (phase: StagePhase) => void): Promise<void> {
    if (this.refilling && this.refillVersion >= this.host.policyVersion()) return this.refilling;
    const before = this.refilling?.catch(() => {}) ?? Promise.resolve();
    const refill = before.then(async () => {
      const missing = QUEUE_LENGTH - this.queue.list().filter((t) => t.version === this.host.policyVersion()).length;
      if (missing <= 0) return;
      const tasks = await this.sampleTasks(k, missing, stop, report);
      for (const task of tasks) if (task.version >= this.lineageStart && this.host.prompts().includes(task.prompt)) this.queue.add(task);
      this.queue.prune(this.host.policyVersion());
      this.emitCounters();
    });
    const tracked: Promise<void> = refill.finally(() => this.refilling === tracked && (this.refilling = null));
    this.refillVersion = this.host.policyVersion();
    return (this.refilling = tracked);
  }

  /** A new lineage begins (SFT finished, a reset): tasks written before `version` are discarded. */
  discardTasksBefore(version: number): void {
    this.lineageStart = version;
    this.queue.discardBefore(version);
    this.emitCounters();
  }

  /**
   * The newest queued task with k completions (stale ones and idle spares give way once a task writer stepped; while
   * idle, a refill under way for a newer policy first), else a fresh one; registered as handed out so that its
   * ranking can be matched, unless it goes elsewhere (a classroom, whose rankings come back through addExternal).
   */
  async nextTask(k: number, handOut = true): Promise<RankingTask> {
    const idle = this.host.stagesIdle();
    if (this.host.policyIteration() > 0) this.queue.dropWhere((t) => t.iteration === 0);
    const queued = this.queue.list().find((t) => t.completions.length === k)?.version ?? -1;
    if (idle && this.refillVersion > queued) await this.refilling?.catch(() => {});
    const task = this.queue.take(k, this.host.policyVersion()) ?? (await this.sampledNow(k));
    if (handOut) this.open.set(task.id, task);
    if (idle) this.refillInBackground(k);
    return task;
  }

  /** Spares for a person ranking while no stage trains, sampled after the caller has its task. */
  private refillInBackground(k: number): void {
    setTimeout(() => {
      const { model } = this.host.policy();
      // a model replaced under it (its weights freed) is no error
      const failed = (err: Error) => this.host.policy().model === model && this.host.onError(`Sampling spare tasks failed: ${err.message}`);
      if (this.host.stagesIdle()) this.refillQueue(k).catch(failed);
    }, 0);
  }

  /** One task sampled now; while the task-writing stage runs (tasks are scarce then) a second comes in the same batch and waits in the queue. */
  private async sampledNow(k: number): Promise<RankingTask> {
    const [task, ...spare] = await this.sampleTasks(k, this.host.policyTraining() ? 2 : 1);
    spare.forEach((t) => this.queue.add(t));
    return task;
  }

  skip(taskId: string): void {
    this.open.delete(taskId);
  }

  // ---- rankings ----

  /** Stores the ranking and returns; the stages learn from it afterwards (the reward model: 'reward-update' event). */
  async submit(taskId: string, order: number[], source: RankingSource, labelerId?: string): Promise<RankingSubmitResult> {
    const ranking = await this.record(taskId, order, source, labelerId);
    this.feed([ranking]);
    this.emitCounters();
    return { counters: this.counters() };
  }

  /** Turns a ranked task into a stored Ranking. Throws a clear error for an unknown task or a bad order. */
  private async record(taskId: string, order: number[], source: RankingSource, labelerId?: string): Promise<Ranking> {
    const task = this.open.get(taskId);
    if (!task) throw new Error('This ranking task is no longer open (it was submitted or skipped already).');
    const ranking = rankingOfTask(task, order, source, labelerId);
    // stored first: the set in memory only ever holds what the store confirmed
    await this.store.putRankings([ranking]).catch((err: Error) => {
      throw new Error(`${err.message}. This ranking was not kept; the task stays open, so you can submit it again.`);
    });
    this.open.delete(taskId);
    this.rankings.push(ranking);
    return ranking;
  }

  /**
   * A ranking made elsewhere, checked again here: a classroom student's, or one the ranking panel already stored
   * (its task is then closed; writing it again is harmless, and the only write when storage is off). Stored once
   * per id; false when known already.
   */
  async addExternal(raw: unknown): Promise<boolean> {
    const ranking = validateRanking(raw);
    this.open.delete(ranking.id);
    if (this.rankings.some((r) => r.id === ranking.id)) return false;
    await this.store.putRankings([ranking]);
    this.rankings.push(ranking);
    this.feed([ranking]);
    this.emitCounters();
    return true;
  }

  /** New rankings join the set of each stage that takes them now; a trained reward model queues them for its next update. */
  private feed(added: Ranking[]): void {
    if (added.length === 0) return;
    for (const join of this.host.liveLearners()) join(added);
    const reward = this.host.reward();
    if (reward && !reward.training) this.applier.enqueue(added);
  }

  /** At a step boundary of a stage that reads the reward model: the queued rankings, in one update, its steps reported. */
  async applyPending(progress: { stop?: () => boolean; report?: (phase: StagePhase) => void } = {}): Promise<void> {
    this.stepReport = progress.report;
    await this.applier.applyNow(progress.stop).finally(() => (this.stepReport = undefined));
  }

  /** Resolves once the reward model's weights are settled: no update in flight (before a step scores with it). */
  rewardUpdated(): Promise<void> {
    return this.applier.settled();
  }

  /** Resolves once no reward-model update or its report is in flight (before a stage starts or resets). */
  async rewardSettled(): Promise<void> {
    await this.applier.settled();
    await this.reporting;
  }

  /** Starts a background update of what is queued, if the reward model is free now (e.g. after PPO paused). */
  kickRewardUpdates(): void {
    this.applier.kick();
  }

  /**
   * One incremental reward-model update with a coalesced batch, its steps reported; false when `stop()` (or a stage
   * waiting to start) cut it short. Its held-out figures and new scores follow, off the path of the caller.
   */
  private async update(batch: Ranking[], stop: () => boolean): Promise<boolean> {
    const reward = this.host.reward();
    if (!reward) return true;
    await this.reporting;
    reward.stage.addRankings(batch);
    const report = this.stepReport;
    const learning = `reward model: learning ${batch.length} new ranking${batch.length === 1 ? '' : 's'}`;
    const trained = await reward.stage.updateStoppably({
      stop: () => stop() || this.host.runWaiting(),
      onStep: (done, total) =>
        report?.({ name: 'reward-update', label: `${learning}, step ${Math.min(done + 1, total)}/${total}`, done, total }),
    });
    if (!trained) return false;
    this.rewardUpdates += 1;
    this.appliedAtIteration = this.host.rewardInUse() ? this.host.policyIteration() : null;
    this.emitCounters();
    this.reporting = this.reportUpdate(reward.stage, batch, trained, this.appliedAtIteration).catch((err: Error) => {
      // a reward model dropped under it (a new model or corpus) is no error
      if (this.host.reward()) this.host.onError(`A reward-model update failed: ${err?.message ?? err}`);
    });
    return true;
  }

  /** An update's held-out figures and the new scores of the newest rankings it applied. */
  private async reportUpdate(scorer: RankingScorer, batch: Ranking[], trained: Record<string, number>, atIteration: number | null) {
    const held = await scorer.evaluate();
    this.heldOut = heldOutOf(held) ?? this.heldOut;
    this.host.onRewardMetrics({ kind: 'eval', values: { ...trained, ...held } });
    const reported = batch.slice(-PREDICTIONS_REPORTED);
    const scores = await scorer.predictMany(reported);
    const predicted = reported.map((r, i) => ({ taskId: r.id, scores: scores[i] }));
    this.emitCounters();
    this.host.onRewardUpdate({ applied: batch.length, atIteration, predicted, counters: this.counters() });
  }

  async rewardTrained(): Promise<void> {
    const reward = this.host.reward();
    if (!reward) return;
    this.applier.drop();
    this.heldOut = heldOutOf(await reward.stage.evaluate());
    this.emitCounters();
  }

  rewardDropped(): void {
    this.applier.drop();
    this.heldOut = null;
    this.emitCounters();
  }

  // ---- demonstrations, files ----

  async addDemonstration(instruction: string, response: string): Promise<number> {
    if (!instruction.trim() || !response.trim()) throw new Error('A demonstration needs both an instruction and a response.');
    const demo = { prompt: formatPrompt(instruction.trim()), response: ' ' + response.trim() };
    await this.store.putDemonstration(`d${Date.now().toString(36)}-${this.demonstrations.length + 1}`, demo).catch((err: Error) => {
      throw new Error(`${err.message}. The demonstration was not kept.`);
    });
    this.demonstrations.push(demo);
    this.emitCounters();
    return this.demonstrations.length;
  }

  export(format: 'rankings' | 'pairs'): string {
    return format === 'pairs' ? preferencePairsToJsonl(this.rankings) : rankingsToJsonl(this.rankings);
  }

  /** Adds the file's valid rankings (ids already present are skipped); reports bad lines; never drops what is stored. */
  async import(text: string): Promise<{ added: number; errors: string[]; counters: RankingCounters }> {
    const { rankings, errors } = parseRankingsFile(text);
    if (rankings.length === 0 && errors.length === 0) errors.push('The file holds no rankings.');
    const known = new Set(this.rankings.map((r) => r.id));
    const added = rankings.filter((r) => !known.has(r.id) && (known.add(r.id), true));
    // one transaction: on failure nothing of the file was written, and memory matches the store
    await this.store.putRankings(added).catch((err: Error) => {
      throw new Error(
        `${err.message}. None of its ${added.length} new rankings were kept; you still have the ${this.rankings.length} you had.`,
      );
    });
    this.rankings.push(...added);
    this.feed(added);
    this.emitCounters();
    return { added: added.length, errors, counters: this.counters() };
  }

  async clear(): Promise<RankingCounters> {
    await this.store.clearRankings().catch((err: Error) => {
      throw new Error(`${err.message}. Nothing was deleted: you still have ${this.rankings.length} rankings.`);
    });
    this.rankings = [];
    this.open.clear();
    this.applier.drop();
    this.emitCounters();
    return this.counters();
  }
}
