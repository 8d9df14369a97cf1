/**
 * Where rankings come from and go to: the queue of prompts with K fresh completions, the user's and
 * the simulated labelers' rankings (kept in IndexedDB the moment they arrive), the user's own
 * demonstrations, and JSONL export/import. DOM-free; the engine supplies sampling and the reward model.
 */
import type { LabelerSettings, RankingTask } from '../../workers/api';
import { labelerById, noiseForAgreement, rankCompletions } from './data/labelers';
import { Rng } from './data/rng';
import { formatPrompt } from './data/world';
import { parseRankingsFile, preferencePairsToJsonl, rankingPairs, rankingsToJsonl, validateRanking, type Ranking, type RankingSource } from './rlhf/rankings';
import type { Demonstration } from './rlhf/sft';
import { idbClear, idbPut, idbValues } from './storage/idb';

export const QUEUE_LENGTH = 2;

export class RankingDesk {
  rankings: Ranking[] = [];
  demonstrations: Demonstration[] = [];
  readonly queue: RankingTask[] = [];
  labeler: LabelerSettings = { labelerId: null, agreement: 0.73, pace: 6, k: 4 };
  private readonly open = new Map<string, RankingTask>();
  private readonly rng = new Rng(20_220_304);
  private taskCount = 0;
  private readonly persist: boolean;

  constructor(persist = typeof indexedDB !== 'undefined') {
    this.persist = persist;
  }

  /** Restores what earlier visits stored. */
  async load(): Promise<void> {
    if (!this.persist) return;
    this.rankings = (await idbValues<Ranking>('rankings')).sort((a, b) => a.createdAt - b.createdAt);
    this.demonstrations = await idbValues<Demonstration>('demonstrations');
  }

  get pairs(): number {
    return this.rankings.reduce((n, r) => n + (r.order.length * (r.order.length - 1)) / 2, 0);
  }

  newTaskId(): string {
    return `r${Date.now().toString(36)}-${(this.taskCount++).toString(36)}`;
  }

  /** Registers a task handed to a ranker (user or labeler) so that its ranking can be matched. */
  hand(task: RankingTask): RankingTask {
    this.open.set(task.id, task);
    return task;
  }

  /** A queued task with k completions, if one is waiting. */
  takeQueued(k: number): RankingTask | undefined {
    const at = this.queue.findIndex((t) => t.completions.length === k);
    return at < 0 ? undefined : this.queue.splice(at, 1)[0];
  }

  skip(taskId: string): void {
    this.open.delete(taskId);
  }

  /** Turns a ranked task into a stored Ranking. Throws a clear error for an unknown task or a bad order. */
  async record(taskId: string, order: number[], source: RankingSource, labelerId?: string): Promise<Ranking> {
    const task = this.open.get(taskId);
    if (!task) throw new Error('This ranking task is no longer open (it was submitted or skipped already).');
    rankingPairs(order); // throws unless order is a permutation of the completions
    if (order.length !== task.completions.length) throw new Error(`The order must rank all ${task.completions.length} completions.`);
    const ranking = validateRanking({ id: task.id, prompt: task.prompt, completions: task.completions, order, createdAt: Date.now(), source, labelerId });
    this.open.delete(taskId);
    this.rankings.push(ranking);
    if (this.persist) await idbPut('rankings', ranking.id, ranking);
    return ranking;
  }

  /** The simulated labeler's order for a task (best first), or null when lecture mode is off. */
  labelerOrder(task: RankingTask): number[] | null {
    if (!this.labeler.labelerId) return null;
    const labeler = labelerById(this.labeler.labelerId);
    return rankCompletions(labeler, task.completions.map((c) => task.prompt + c), { noise: noiseForAgreement(this.labeler.agreement), rng: this.rng });
  }

  goldScorer(): ((text: string) => number) | undefined {
    const id = this.labeler.labelerId;
    return id ? (text: string) => labelerById(id).gold(text) : undefined;
  }

  async addDemonstration(instruction: string, response: string): Promise<number> {
    if (!instruction.trim() || !response.trim()) throw new Error('A demonstration needs both an instruction and a response.');
    const demo = { prompt: formatPrompt(instruction.trim()), response: ' ' + response.trim() };
    this.demonstrations.push(demo);
    if (this.persist) await idbPut('demonstrations', `d${Date.now().toString(36)}-${this.demonstrations.length}`, demo);
    return this.demonstrations.length;
  }

  export(format: 'rankings' | 'pairs'): string {
    return format === 'pairs' ? preferencePairsToJsonl(this.rankings) : rankingsToJsonl(this.rankings);
  }

  /** Adds the file's valid rankings (ids already present are skipped); reports bad lines; never drops what is stored. */
  async import(text: string): Promise<{ added: Ranking[]; errors: string[] }> {
    const { rankings, errors } = parseRankingsFile(text);
    if (rankings.length === 0 && errors.length === 0) errors.push('The file holds no rankings.');
    const known = new Set(this.rankings.map((r) => r.id));
    const added = rankings.filter((r) => !known.has(r.id) && (known.add(r.id), true));
    for (const r of added) {
      this.rankings.push(r);
      if (this.persist) await idbPut('rankings', r.id, r);
    }
    return { added, errors };
  }

  async clear(): Promise<void> {
    this.rankings = [];
    this.open.clear();
    if (this.persist) await idbClear('rankings');
  }
}
