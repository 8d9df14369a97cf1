/**
 * The ranking panel's state, kept outside the component: the task on show, the order so far and the last
 * result survive switching to the Pretrain tab and back (which unmounts the panel). Talks to the engine
 * through `engine.attempt`, so background requests never touch the shared error banner.
 * A submit never waits for the engine: the next task is a spare fetched while the person read the current
 * one (when it is still fresh), and the ranking is stored meanwhile; the reward model's scores of it come
 * later, with its update.
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
  /** Submits sent to the engine and not yet answered (they never block the next one). */
  saving = $state(0);
  problem = $state('');
  /** Read out by screen readers (aria-live). */
  announce = $state('');
  last = $state<Ranked | null>(null);
  demoInstruction = $state('');
  /** Only the newest request's task is shown; an older one that comes back late is handed back. */
  private fetchSeq = 0;
  private modelKey = '';
  /** The next task, fetched in the background, shown at once on submit when still fresh. */
  private spare: RankingTask | null = null;
  private spareFetch: Promise<void> | null = null;

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
    this.prefetch();
  }

  /** Fetches the next task in the background while the person ranks this one. */
  private prefetch(): void {
    if (this.spare || this.spareFetch) return;
    const want = this.k;
    this.spareFetch = engine
      .attempt((api) => api.nextRankingTask(want))
      .then((got) => {
        if (!got.ok) return;
        if (this.spare || want !== this.k) void engine.attempt((api) => api.skipRankingTask(got.value.id));
        else this.spare = got.value;
      })
      .finally(() => (this.spareFetch = null));
  }

  /** The spare is on its way: wait for it rather than ask the busy engine for a second task (which would halve its pace). */
  private async awaitSpare(): Promise<boolean> {
    const seq = ++this.fetchSeq;
    this.task = null;
    this.loading = true;
    await this.spareFetch;
    if (seq !== this.fetchSeq) return false;
    const spare = this.takeSpare();
    if (!spare) return this.fetchTask();
    this.loading = false;
    this.show(spare);
    return true;
  }

  /** The spare task if it still fits (same K, written by the current lineage, at most one version behind); else null. */
  private takeSpare(): RankingTask | null {
    const spare = this.spare;
    this.spare = null;
    if (!spare) return null;
    if (spare.completions.length === this.k && isFresh(spare)) return spare;
    void engine.attempt((api) => api.skipRankingTask(spare.id));
    return null;
  }

  /** Shows the next task at once (the spare) or asks for one, and stores the order on show meanwhile. */
  async submit(): Promise<boolean> {
    const task = this.task;
    if (!task || this.loading) return false;
    const ranked: Ranked = { task, order: this.order.slice() };
    this.saving += 1;
    this.problem = '';
    const result = engine.attempt((api) => api.submitRanking(ranked.task.id, ranked.order));
    const spare = this.takeSpare();
    let next: Promise<boolean> | boolean = true;
    if (spare) this.show(spare);
    else if (this.spareFetch) next = this.awaitSpare();
    else {
      this.task = null;
      next = this.fetchTask();
    }
    this.last = ranked;
    void result.then((r) => {
      this.saving -= 1;
      if (r.ok) {
        engine.counters = r.value.counters;
        this.announce = `Ranking saved. ${r.value.counters.rankings} rankings so far.`;
      } else this.problem = `Your ranking was not saved: ${r.error}`;
    });
    return next;
  }

  async skip(): Promise<void> {
    if (!this.task || this.loading) return;
    this.handBack();
    const spare = this.takeSpare();
    if (spare) this.show(spare);
    else await this.fetchTask();
  }

  private handBack(): void {
    const id = this.task?.id;
    this.task = null;
    if (id) void engine.attempt((api) => api.skipRankingTask(id));
  }

  async setK(value: number): Promise<void> {
    if (!Number.isInteger(value) || value < MIN_K || value > MAX_K) return;
    this.k = value;
    this.dropSpare();
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

  private dropSpare(): void {
    const id = this.spare?.id;
    this.spare = null;
    if (id) void engine.attempt((api) => api.skipRankingTask(id));
  }

  /**
   * When the panel shows: a task if there is none; a fresh one if the model changed under an untouched task,
   * or if a new lineage began (SFT finished, a reset) after it was written.
   */
  ensureTask(): void {
    if (!engine.ready || this.loading) return;
    const newModel = this.modelKey !== modelKey();
    if (newModel || (this.spare && this.spare.version < engine.lineage.epoch)) this.dropSpare();
    if (!this.task) void this.fetchTask();
    else if (!this.touched && (newModel || this.task.version < engine.lineage.epoch)) {
      this.handBack();
      void this.fetchTask();
    }
  }

  /** The reward model's scores of the last ranked task: from the submit, or from the update that applied it. */
  get lastPredicted(): number[] | undefined {
    const last = this.last;
    return last ? (last.predicted ?? engine.predictions[last.task.id]) : undefined;
  }
}

/** Written by the current lineage and at most one policy version behind (the engine's queue rule). */
function isFresh(task: RankingTask): boolean {
  return task.version >= engine.lineage.epoch && task.version >= engine.lineage.version - 1;
}

/** A new model (from scratch, a checkpoint) changes this; a trained stage does not. */
function modelKey(): string {
  const m = engine.model;
  return m ? `${m.source}|${m.preset}|${m.params}|${m.tokenizer.vocabSize}` : '';
}

export const desk = new RankingDeskState();
