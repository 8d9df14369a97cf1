/**
 * The ranking-task queue's freshness rules, pure: tasks are served newest policy first; a task more than
 * one policy version behind the live policy gives way to a fresher one of the same K; a change of lineage
 * (SFT finished, a new model, a reset) discards everything written before it. DOM-free and tfjs-free.
 */

/** What the queue needs of a task: its K and the policy version that wrote it. */
export interface VersionedTask {
  completions: readonly string[];
  /** The session's policy version when the task was sampled. */
  version: number;
}

/** A task this many versions behind the live policy or fewer counts as fresh. */
export const FRESH_WITHIN = 1;

export function isFresh(task: VersionedTask, liveVersion: number): boolean {
  return task.version >= liveVersion - FRESH_WITHIN;
}

export class TaskQueue<T extends VersionedTask> {
  /** Newest version first; among equal versions, the later arrival first. */
  private tasks: T[] = [];

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.tasks.length;
  }

  /** The tasks in serving order (a copy). */
  list(): T[] {
    return [...this.tasks];
  }

  /** Adds a task in version order; beyond capacity the oldest task goes. */
  add(task: T): void {
    const at = this.tasks.findIndex((t) => t.version <= task.version);
    this.tasks.splice(at < 0 ? this.tasks.length : at, 0, task);
    if (this.tasks.length > this.capacity) this.tasks.length = this.capacity;
  }

  /** How many queued tasks are fresh for the live policy (a refill tops these up). */
  freshCount(liveVersion: number): number {
    return this.tasks.filter((t) => isFresh(t, liveVersion)).length;
  }

  /** The newest task with k completions, after stale ones gave way to fresher ones; null when none has k. */
  take(k: number, liveVersion: number): T | null {
    this.prune(liveVersion);
    const at = this.tasks.findIndex((t) => t.completions.length === k);
    return at < 0 ? null : this.tasks.splice(at, 1)[0];
  }

  /** Drops each stale task for which a fresh task of the same K is queued. */
  prune(liveVersion: number): void {
    const freshK = new Set(this.tasks.filter((t) => isFresh(t, liveVersion)).map((t) => t.completions.length));
    this.tasks = this.tasks.filter((t) => isFresh(t, liveVersion) || !freshK.has(t.completions.length));
  }

  /** Drops every task sampled before `version` (a new lineage begins there). */
  discardBefore(version: number): void {
    this.tasks = this.tasks.filter((t) => t.version >= version);
  }

  /** Drops every task for which `gone` is true. */
  dropWhere(gone: (task: T) => boolean): void {
    this.tasks = this.tasks.filter((t) => !gone(t));
  }

  clear(): void {
    this.tasks = [];
  }
}
