/**
 * The ranking panel's state, kept outside the component: the task on show, the order so far and the last
 * result survive switching to the Pretrain tab and back (which unmounts the panel). Talks to the engine
 * through `engine.attempt`, so background requests never touch the shared error banner.
 * A submit never waits for the engine, which may be busy inside a PPO-ptx iteration: the page stores the
 * ranking in IndexedDB itself and shows the next task from a few spares fetched while the person read (the
 * freshest first); the engine takes the stored ranking when it is next free, and the reward model's scores
 * of it come later, with its update.
 */
import { rankingOfTask, type Ranking } from '../lib/rlhf/rankings';
import { mixOfSetting } from '../lib/data/tasks/mix';
import { mixInUse } from '../lib/session/prompts';
import { IdbRankingStore } from '../lib/session/rankingStore';
import { isFresh, TaskQueue } from '../lib/session/taskQueue';
import type { RankingTask } from '../lib/types';
import { engine } from './engine.svelte';
import { MAX_K, MIN_K, instructionOf, letter, moveItem, rewardState, type RewardState } from './ranking';

export interface Ranked {
  task: RankingTask;
  order: number[];
  /** The reward model's scores after this ranking's update, when there is a reward model. */
  predicted?: number[];
  /** The reward model's state when the engine took the ranking (an update will learn it, or a training run did). */
  rewardWhenTaken?: RewardState;
}

/** Tasks kept in hand: enough for a person's pace through one slow PPO-ptx iteration on wasm. */
const SPARES = 3;
/** The page's own writes go straight to IndexedDB (the engine's store; its writes of the same id are harmless). */
const pageStore = new IdbRankingStore();

class RankingDeskState {
  k = $state(4);
  task = $state<RankingTask | null>(null);
  /** Completion indices in the displayed order, best first. */
  order = $state<number[]>([]);
  /** Whether the user has reordered the task on show. */
  touched = $state(false);
  loading = $state(false);
  /** Rankings stored by the page that the engine has not taken yet (they never block the next one). */
  saving = $state(0);
  problem = $state('');
  /** Read out by screen readers (aria-live). */
  announce = $state('');
  last = $state<Ranked | null>(null);
  demoInstruction = $state('');
  /** Only the newest request's task is shown; an older one that comes back late is handed back. */
  private fetchSeq = 0;
  private modelKey = '';
  /** The next tasks, fetched in the background: the freshest is shown at once on a submit. */
  private readonly spares = new TaskQueue<RankingTask>(SPARES);
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

  /**
   * The policy moved on: when spares of the current K are in hand but none is fresh any more, one more is fetched,
   * and the stale ones give way to it (keepSpare), so that the task shown at the next submit is a recent one.
   */
  refreshSpares(): void {
    const ofK = this.spares.list().filter((t) => t.completions.length === this.k);
    if (ofK.length > 0 && !ofK.some((t) => isFresh(t, engine.lineage.version))) this.prefetch(true);
  }

  /** Tops the spares up in the background, one request at a time, while the person ranks the task on show. */
  private prefetch(evenWhenFull = false): void {
    if ((this.spares.length >= SPARES && !evenWhenFull) || this.spareFetch || !engine.ready) return;
    const want = this.k;
    this.spareFetch = engine
      .attempt((api) => api.nextRankingTask(want))
      .then((got) => {
        this.spareFetch = null;
        if (!got.ok) return; // the panel asks again when it next needs a task
        if (want !== this.k || got.value.version < engine.lineage.epoch) void engine.attempt((api) => api.skipRankingTask(got.value.id));
        else this.keepSpare(got.value);
        this.prefetch();
      });
  }

  /** A spare joins the others; one that a fresher task of the same K made stale goes back to the engine, as does one the task mix left out. */
  private keepSpare(task: RankingTask): void {
    this.handingBackDropped(() => {
      this.spares.add(task);
      this.spares.prune(engine.lineage.version);
      this.spares.dropWhere(outOfMix);
    });
  }

  /** Runs a change of the spares and hands the tasks it dropped back to the engine. */
  private handingBackDropped<T>(change: () => T): T {
    const before = this.spares.list();
    const result = change();
    const kept = new Set(this.spares.list().map((t) => t.id));
    for (const t of before) if (!kept.has(t.id) && t !== result) void engine.attempt((api) => api.skipRankingTask(t.id));
    return result;
  }

  /** No spare in hand: wait for the one on its way rather than ask the busy engine for a second task (which would halve its pace). */
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

  /** The freshest spare of the current K written by the current lineage (a stale one only when nothing fresher is in hand). */
  private takeSpare(): RankingTask | null {
    return this.handingBackDropped(() => {
      this.spares.discardBefore(engine.lineage.epoch);
      this.spares.dropWhere(outOfMix);
      return this.spares.take(this.k, engine.lineage.version);
    });
  }

  /**
   * Stores the order on show (in this page, so no busy engine delays it) and shows the next task at once; the
   * engine takes the stored ranking when it is next free. A failed write keeps the task on show with its cause.
   */
  async submit(): Promise<boolean> {
    const task = this.task;
    if (!task || this.loading) return false;
    const ranked: Ranked = { task, order: this.order.slice() };
    this.problem = '';
    let ranking;
    try {
      ranking = rankingOfTask(task, ranked.order, 'user');
      if (engine.status?.storage?.persistent !== false) await pageStore.putRankings([ranking]);
    } catch (err) {
      this.problem = `Your ranking was not saved: ${(err as Error).message} The task stays here: submit it again when the problem is solved.`;
      return false;
    }
    if (this.task !== task) return false; // the task changed while the write ran (a new model); nothing else to do
    this.saving += 1;
    void this.engineTakes(ranking);
    const spare = this.takeSpare();
    let next: Promise<boolean> | boolean = true;
    if (spare) this.show(spare);
    else if (this.spareFetch) next = this.awaitSpare();
    else {
      this.task = null;
      next = this.fetchTask();
    }
    this.last = ranked;
    return next;
  }

  /** The engine adds the stored ranking to its set and queues it for the reward model; the counters follow. */
  private async engineTakes(ranking: Ranking): Promise<void> {
    const r = await engine.attempt((api) => api.addRanking(ranking));
    this.saving -= 1;
    if (!r.ok) {
      this.problem = `Your ranking was stored but the engine did not take it: ${r.error} It will be read again after a reload.`;
      return;
    }
    if (this.last?.task.id === ranking.id) this.last.rewardWhenTaken = rewardState(engine.stages, (name) => engine.stage(name));
    const counters = await engine.attempt((api) => api.counters());
    if (counters.ok) {
      engine.counters = counters.value;
      this.announce = `Ranking saved. ${counters.value.rankings} rankings so far.`;
    }
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
    this.dropSpares();
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

  /** Hands every spare back (a new K or a new model). */
  private dropSpares(): void {
    for (const t of this.spares.list()) void engine.attempt((api) => api.skipRankingTask(t.id));
    this.spares.clear();
  }

  /**
   * When the panel shows: a task if there is none; a fresh one if the model changed under an untouched task,
   * if a new lineage began (SFT finished, a reset) after it was written, or if the task mix now leaves its family out.
   */
  ensureTask(): void {
    if (!engine.ready || this.loading) return;
    const newModel = this.modelKey !== modelKey();
    if (newModel) this.dropSpares();
    if (!this.task) void this.fetchTask();
    else if (!this.touched && (newModel || this.task.version < engine.lineage.epoch || outOfMix(this.task))) {
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

/** Whether the task mix in use (SFT's setting) leaves out the family of a task's prompt. */
function outOfMix(task: RankingTask): boolean {
  if (!task.family || !engine.status) return false;
  try {
    return mixOfSetting(mixInUse(engine.stages, engine.status.settings))[task.family] === 0;
  } catch {
    return false; // a mix that cannot be read keeps every task (the form says what is wrong)
  }
}

/** A new model (from scratch, a checkpoint) changes this; a trained stage does not. */
function modelKey(): string {
  const m = engine.model;
  return m ? `${m.source}|${m.preset}|${m.params}|${m.tokenizer.vocabSize}` : '';
}

export const desk = new RankingDeskState();
