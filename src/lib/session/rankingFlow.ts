/**
 * The path of a ranking: a task (a prompt with K completions from the newest policy) is handed out,
 * ranked, checked, stored, and handed to the stages that take live rankings; a submit returns once the
 * ranking is stored. A stage training now takes it into its set; for the reward model (the scorer) once
 * trained, queued rankings arrive together: in the background, or, while a stage that uses it runs
 * (PPO-ptx), at that stage's next step boundary. Also the user's demonstrations and JSONL files. DOM-free.
 */
import { sample, SamplingStopped, stoppable } from '../model/sampler';
import { breather, PART_MS } from '../train/breather';
import { PartSizer } from '../train/parts';
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
import { formatPrompt } from '../data/world';
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../data/tokenizer';
import type { RankingScorer } from '../stages/descriptor';
import type { HeldOutAccuracy, MetricPoint, RankingCounters, RankingSubmitResult, RankingTask, RewardUpdateInfo } from '../types';
import type { RankingStore } from './rankingStore';
import { RewardApplier } from './rewardApplier';
import { TaskQueue } from './taskQueue';

/** Tasks kept ready while the task-writing stage (PPO-ptx) runs, so that the next one shows at once. */
export const QUEUE_LENGTH = 4;
/** An update reports the new scores of this many of the rankings it applied (the newest). */
const PREDICTIONS_REPORTED = 4;

/** What the flow needs of the session around it. */
export interface RankingFlowHost {
  policy(): { model: GPT; tokenizer: Tokenizer };
  prompts: readonly string[];
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
  private refilling = false;
  /** Task sampling reads its prompts in parts that let messages through. */
  private readonly prefillParts = new PartSizer(PART_MS);

  constructor(
    private readonly host: RankingFlowHost,
    readonly store: RankingStore,
  ) {
    this.applier = new RewardApplier<Ranking>({
      canApply: (atBoundary) => {
        const reward = host.reward();
        return reward !== null && !reward.training && (atBoundary || !host.rewardInUse());
      },
      apply: (batch) => this.update(batch),
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

  /**
   * `count` prompts with k completions each, sampled in one batch (two tasks cost far less than twice one). It lets
   * messages through every BREATHE_MS (a pause, a stored ranking); a running stage's steps may then run a part, so a task
   * sampled during an iteration may straddle one of its updates. Stopped (no tasks) as soon as `stop()` is true.
   */
  async sampleTasks(k: number, count: number, stop?: () => boolean): Promise<RankingTask[]> {
    const problem = kError(k);
    if (problem) throw new Error(problem);
    const { model, tokenizer } = this.host.policy();
    const version = this.host.policyVersion();
    const origin = this.host.policyOrigin();
    const prompts = Array.from({ length: count }, () => this.host.prompts[this.promptCursor++ % this.host.prompts.length]);
    const promptTokens = prompts.map((p) => tokenizer.encode(p));
    const { temperature, maxNewTokens } = this.host.samplingSettings();
    const longest = Math.max(...promptTokens.map((t) => t.length));
    const breathe = breather();
    const sampled = await stoppable(
      sample(
        model,
        promptTokens.flatMap((t) => new Array<number[]>(k).fill(t)),
        {
          maxNewTokens: Math.min(maxNewTokens, model.config.blockSize - longest),
          temperature,
          topK: 0,
          seed: (this.promptCursor * 7919) >>> 0,
          eosId: tokenizer.eosId,
          onToken: async () => {
            await breathe();
            if (stop?.()) throw new SamplingStopped();
          },
        },
      ),
    );
    if (!sampled) return [];
    const { completions } = sampled;
    const reward = this.host.reward();
    const written = prompts.map((prompt, i) => ({
      prompt,
      completions: completions.slice(i * k, (i + 1) * k).map((c) => tokenizer.decode(c)),
    }));
    const predicted = reward ? await reward.stage.predictMany(written) : [];
    return written.map(({ prompt, completions: texts }, i) => ({
      id: `r${Date.now().toString(36)}-${(this.taskCount++).toString(36)}`,
      prompt,
      completions: texts,
      iteration: this.host.policyIteration(),
      version,
      origin,
      predicted: predicted[i],
    }));
  }

  /**
   * Tops the queue up with fresh tasks of the given K from the live policy, in one batch; at most one refill at a
   * time. Given up (nothing added) once `stop()` is true: a pause does not wait for it.
   */
  async refillQueue(k: number, stop?: () => boolean): Promise<void> {
    const missing = QUEUE_LENGTH - this.queue.freshCount(this.host.policyVersion());
    if (this.refilling || missing <= 0) return;
    this.refilling = true;
    try {
      for (const task of await this.sampleTasks(k, missing, stop)) this.queue.add(task);
      this.queue.prune(this.host.policyVersion());
      this.emitCounters();
    } finally {
      this.refilling = false;
    }
  }

  dropQueue(): void {
    this.queue.clear();
  }

  /** A new lineage begins (SFT finished, a reset): tasks written before `version` are discarded. */
  discardTasksBefore(version: number): void {
    this.queue.discardBefore(version);
    this.emitCounters();
  }

  /**
   * The newest queued task with k completions (stale ones give way), else a fresh one; registered as handed out so
   * that its ranking can be matched, unless it goes elsewhere (a classroom, whose rankings come back through addExternal).
   */
  async nextTask(k: number, handOut = true): Promise<RankingTask> {
    const task = this.queue.take(k, this.host.policyVersion()) ?? (await this.sampledNow(k));
    if (handOut) this.open.set(task.id, task);
    return task;
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

  /** At a step boundary of a stage that reads the reward model: the queued rankings, in one update. */
  async applyPending(): Promise<void> {
    await this.applier.applyNow();
  }

  /** Resolves once no background reward-model update is in flight (before a stage starts or resets). */
  rewardSettled(): Promise<void> {
    return this.applier.settled();
  }

  /** Starts a background update of what is queued, if the reward model is free now (e.g. after PPO paused). */
  kickRewardUpdates(): void {
    this.applier.kick();
  }

  /** One incremental reward-model update with a coalesced batch of rankings; reports its figures and new scores. */
  private async update(batch: Ranking[]): Promise<void> {
    const reward = this.host.reward();
    if (!reward) return;
    reward.stage.addRankings(batch);
    const trained = await reward.stage.update();
    this.rewardUpdates += 1;
    this.appliedAtIteration = this.host.rewardInUse() ? this.host.policyIteration() : null;
    const held = await reward.stage.evaluate();
    this.heldOut = heldOutOf(held) ?? this.heldOut;
    this.host.onRewardMetrics({ kind: 'eval', values: { ...trained, ...held } });
    const reported = batch.slice(-PREDICTIONS_REPORTED);
    const scores = await reward.stage.predictMany(reported);
    const predicted = reported.map((r, i) => ({ taskId: r.id, scores: scores[i] }));
    this.emitCounters();
    this.host.onRewardUpdate({ applied: batch.length, atIteration: this.appliedAtIteration, predicted, counters: this.counters() });
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
