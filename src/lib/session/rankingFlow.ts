/**
 * The path of a ranking: a task (a prompt with K completions from the newest policy) is handed out,
 * ranked, checked, stored, and fed to the reward model, at once or, while PPO-ptx runs, between its
 * iterations. Also the user's demonstrations and JSONL export/import. DOM-free.
 */
import { sample } from '../model/sampler';
import {
  kError,
  parseRankingsFile,
  preferencePairsToJsonl,
  rankingPairs,
  rankingsToJsonl,
  validateRanking,
  type Ranking,
  type RankingSource,
} from '../rlhf/rankings';
import type { RewardStage } from '../rlhf/rewardTrainer';
import type { Demonstration } from '../rlhf/sft';
import { formatPrompt } from '../data/world';
import type { GPT } from '../model/gpt';
import type { Tokenizer } from '../data/tokenizer';
import type { MetricPoint, RankingCounters, RankingSubmitResult, RankingTask } from '../types';
import type { RankingStore } from './rankingStore';

/** Tasks kept ready while PPO-ptx runs, so that the next one shows at once. */
export const QUEUE_LENGTH = 2;

/** What the flow needs of the session around it. */
export interface RankingFlowHost {
  policy(): { model: GPT; tokenizer: Tokenizer };
  prompts: readonly string[];
  /** The live reward model and whether it is training now. */
  reward(): { stage: RewardStage; training: boolean } | null;
  /** A stage that reads the reward model is running: updates wait for its next step boundary. */
  rewardInUse(): boolean;
  /** Which policy writes tasks now: its PPO iteration, 0 before PPO. */
  policyIteration(): number;
  samplingSettings(): { temperature: number; maxNewTokens: number };
  onCounters(counters: RankingCounters): void;
  onRewardMetrics(point: Omit<MetricPoint, 'step'>): void;
}

export class RankingFlow {
  rankings: Ranking[] = [];
  demonstrations: Demonstration[] = [];
  readonly queue: RankingTask[] = [];
  private readonly open = new Map<string, RankingTask>();
  /** Rankings that arrived while the reward model was in use: applied at the next step boundary. */
  private pending: Ranking[] = [];
  private heldOutAccuracy: number | null = null;
  private rewardUpdates = 0;
  private taskCount = 0;
  private promptCursor = 0;
  private refilling = false;

  constructor(
    private readonly host: RankingFlowHost,
    readonly store: RankingStore,
  ) {}

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
      heldOutAccuracy: this.heldOutAccuracy,
      rewardUpdates: this.rewardUpdates,
      queued: this.queue.length,
      demonstrations: this.demonstrations.length,
    };
  }

  emitCounters(): void {
    this.host.onCounters(this.counters());
  }

  // ---- tasks ----

  /** A prompt with k completions sampled now from the current policy, scored by the reward model when there is one. */
  async sampleTask(k: number): Promise<RankingTask> {
    const problem = kError(k);
    if (problem) throw new Error(problem);
    const { model, tokenizer } = this.host.policy();
    const prompt = this.host.prompts[this.promptCursor++ % this.host.prompts.length];
    const promptTokens = tokenizer.encode(prompt);
    const { temperature, maxNewTokens } = this.host.samplingSettings();
    const { completions } = await sample(model, new Array(k).fill(promptTokens), {
      maxNewTokens: Math.min(maxNewTokens, model.config.blockSize - promptTokens.length),
      temperature,
      topK: 0,
      seed: (this.promptCursor * 7919) >>> 0,
      eosId: tokenizer.eosId,
    });
    const texts = completions.map((c) => tokenizer.decode(c));
    const reward = this.host.reward();
    const predicted = reward ? await reward.stage.predict(prompt, texts) : undefined;
    const id = `r${Date.now().toString(36)}-${(this.taskCount++).toString(36)}`;
    return { id, prompt, completions: texts, iteration: this.host.policyIteration(), predicted };
  }

  /** Tops the queue up by one task of the given K; at most one refill at a time. */
  async refillQueue(k: number): Promise<void> {
    if (this.refilling || this.queue.length >= QUEUE_LENGTH) return;
    this.refilling = true;
    try {
      this.queue.push(await this.sampleTask(k));
      this.emitCounters();
    } finally {
      this.refilling = false;
    }
  }

  dropQueue(): void {
    this.queue.length = 0;
  }

  /**
   * A queued task with k completions, else a fresh one; registered as handed out so that its ranking can be
   * matched, unless it goes elsewhere (a classroom, whose rankings come back through addExternal).
   */
  async nextTask(k: number, handOut = true): Promise<RankingTask> {
    const at = this.queue.findIndex((t) => t.completions.length === k);
    const task = at >= 0 ? this.queue.splice(at, 1)[0] : await this.sampleTask(k);
    if (handOut) this.open.set(task.id, task);
    return task;
  }

  skip(taskId: string): void {
    this.open.delete(taskId);
  }

  // ---- rankings ----

  async submit(taskId: string, order: number[], source: RankingSource, labelerId?: string): Promise<RankingSubmitResult> {
    const ranking = await this.record(taskId, order, source, labelerId);
    await this.feedReward([ranking]);
    this.emitCounters();
    const reward = this.host.reward();
    const predicted = reward ? await reward.stage.predict(ranking.prompt, ranking.completions) : undefined;
    return { counters: this.counters(), predicted };
  }

  /** Turns a ranked task into a stored Ranking. Throws a clear error for an unknown task or a bad order. */
  private async record(taskId: string, order: number[], source: RankingSource, labelerId?: string): Promise<Ranking> {
    const task = this.open.get(taskId);
    if (!task) throw new Error('This ranking task is no longer open (it was submitted or skipped already).');
    rankingPairs(order); // throws unless order is a permutation of the completions
    if (order.length !== task.completions.length) throw new Error(`The order must rank all ${task.completions.length} completions.`);
    const ranking = validateRanking({
      id: task.id,
      prompt: task.prompt,
      completions: task.completions,
      order,
      createdAt: Date.now(),
      source,
      labelerId,
    });
    // stored first: the set in memory only ever holds what the store confirmed
    await this.store.putRankings([ranking]).catch((err: Error) => {
      throw new Error(`${err.message}. This ranking was not kept; the task stays open, so you can submit it again.`);
    });
    this.open.delete(taskId);
    this.rankings.push(ranking);
    return ranking;
  }

  /** A ranking made elsewhere (a classroom student's), checked again here; stored once per id. False when known already. */
  async addExternal(raw: unknown): Promise<boolean> {
    const ranking = validateRanking(raw);
    if (this.rankings.some((r) => r.id === ranking.id)) return false;
    await this.store.putRankings([ranking]);
    this.rankings.push(ranking);
    await this.feedReward([ranking]);
    this.emitCounters();
    return true;
  }

  /** New rankings reach a training reward model at once, an idle one now, one in use by PPO at its next iteration. */
  private async feedReward(added: Ranking[]): Promise<void> {
    const reward = this.host.reward();
    if (!reward || added.length === 0) return;
    if (reward.training) return reward.stage.addRankings(added);
    this.pending.push(...added);
    if (!this.host.rewardInUse()) await this.applyPending();
  }

  /** Incremental reward-model update with the rankings that arrived since the last one. */
  async applyPending(): Promise<void> {
    const reward = this.host.reward();
    if (!reward || this.pending.length === 0) return;
    reward.stage.addRankings(this.pending);
    this.pending = [];
    const trained = await reward.stage.update();
    this.rewardUpdates += 1;
    const held = await reward.stage.evaluate();
    this.heldOutAccuracy = held.pair_accuracy ?? this.heldOutAccuracy;
    this.host.onRewardMetrics({ kind: 'eval', values: { ...trained, ...held } });
    this.emitCounters();
  }

  async rewardTrained(): Promise<void> {
    const reward = this.host.reward();
    if (!reward) return;
    this.pending = [];
    this.heldOutAccuracy = (await reward.stage.evaluate()).pair_accuracy ?? null;
    this.emitCounters();
  }

  rewardDropped(): void {
    this.heldOutAccuracy = null;
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
    await this.feedReward(added);
    this.emitCounters();
    return { added: added.length, errors, counters: this.counters() };
  }

  async clear(): Promise<RankingCounters> {
    await this.store.clearRankings().catch((err: Error) => {
      throw new Error(`${err.message}. Nothing was deleted: you still have ${this.rankings.length} rankings.`);
    });
    this.rankings = [];
    this.open.clear();
    this.pending = [];
    this.emitCounters();
    return this.counters();
  }
}
