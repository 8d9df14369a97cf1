/**
 * The ranking panel's state, kept outside the component: the task on show, the order so far and the last
 * result survive switching to the Pretrain tab and back (which unmounts the panel). Talks to the engine
 * through `engine.attempt`, so background requests never touch the shared error banner.
 */
import type { RankingTask } from '../lib/types';
import { engine } from './engine.svelte';
import { MAX_K, MIN_K, instructionOf, letter, moveItem } from './ranking';

export interface Ranked {
  task: RankingTask;
  order: number[];
  /** The reward model's scores after this ranking's update, when there is a reward model. */
  predicted?: number[];
}

class RankingDeskState {
  k = $state(4);
  task = $state<RankingTask | null>(null);
  /** Completion indices in the displayed order, best first. */
  order = $state<number[]>([]);
  /** Whether the user has reordered the task on show. */
  touched = $state(false);
  loading = $state(false);
  submitting = $state(false);
  problem = $state('');
  /** Read out by screen readers (aria-live). */
  announce = $state('');
  last = $state<Ranked | null>(null);
  demoInstruction = $state('');
  /** Only the newest request's task is shown; an older one that comes back late is handed back. */
  private fetchSeq = 0;
  private modelKey = '';

  async fetchTask(): Promise<boolean> {
    const seq = ++this.fetchSeq;
    const want = this.k;
    this.loading = true;
    this.problem = '';
    const got = await engine.attempt((api) => api.nextRankingTask(want));
    if (seq !== this.fetchSeq) {
      if (got.ok) void engine.attempt((api) => api.skipRankingTask(got.value.id));
      return false;
    }
    this.loading = false;
    if (!got.ok) {
      this.problem = got.error;
      return false;
    }
    this.show(got.value);
    return true;
  }

  private show(task: RankingTask): void {
    this.task = task;
    this.order = task.completions.map((_, i) => i);
    this.touched = false;
    this.demoInstruction = instructionOf(task.prompt);
    this.modelKey = modelKey();
  }

  /** Stores the order on show; the next task is requested at once (while PPO runs the engine has a queue ready). */
  async submit(): Promise<boolean> {
    const task = this.task;
    if (!task || this.submitting || this.loading) return false;
    const ranked: Ranked = { task, order: this.order.slice() };
    this.submitting = true;
    this.problem = '';
    const result = engine.attempt((api) => api.submitRanking(ranked.task.id, ranked.order));
    this.task = null;
    const next = this.fetchTask();
    const r = await result;
    this.submitting = false;
    if (r.ok) {
      engine.counters = r.value.counters;
      this.last = { ...ranked, predicted: r.value.predicted };
      this.announce = `Ranking saved. ${r.value.counters.rankings} rankings so far.`;
    } else this.problem = `Your ranking was not saved: ${r.error}`;
    return next;
  }

  async skip(): Promise<void> {
    if (!this.task || this.loading) return;
    this.handBack();
    await this.fetchTask();
  }

  private handBack(): void {
    const id = this.task?.id;
    this.task = null;
    if (id) void engine.attempt((api) => api.skipRankingTask(id));
  }

  async setK(value: number): Promise<void> {
    if (!Number.isInteger(value) || value < MIN_K || value > MAX_K) return;
    this.k = value;
    if (this.loading) await this.fetchTask();
    else if (this.task && this.task.completions.length !== value) {
      this.handBack();
      await this.fetchTask();
    }
  }

  /** Moves the completion at display position `from` to `to`; returns whether anything moved. */
  move(from: number, to: number): boolean {
    if (to < 0 || to >= this.order.length || from === to || from < 0 || from >= this.order.length) return false;
    this.order = moveItem(this.order, from, to);
    this.touched = true;
    this.announce = `${letter(this.order[to])} is now rank ${to + 1} of ${this.order.length}.`;
    return true;
  }

  /** When the panel shows: a task if there is none; a fresh one if the model changed under an untouched task. */
  ensureTask(): void {
    if (!engine.ready || this.loading) return;
    if (!this.task) void this.fetchTask();
    else if (!this.touched && this.modelKey !== modelKey()) {
      this.handBack();
      void this.fetchTask();
    }
  }
}

/** A new model (from scratch, a checkpoint) changes this; a trained stage does not. */
function modelKey(): string {
  const m = engine.model;
  return m ? `${m.source}|${m.preset}|${m.params}|${m.tokenizer.vocabSize}` : '';
}

export const desk = new RankingDeskState();
