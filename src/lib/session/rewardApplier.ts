/**
 * Coalesces rankings on their way to the reward model: a submit only queues its ranking; the queued ones
 * are applied together, in one incremental update, when the reward model is free: in the background when
 * no stage reads it, at a stage's step boundary while one does. DOM-free and tfjs-free.
 */

export interface ApplierHost<R> {
  /**
   * Whether an update may run now: a reward model exists and is not training, and (in the background)
   * no running stage reads it; at a step boundary of the stage that reads it, `atBoundary` is true.
   */
  canApply(atBoundary: boolean): boolean;
  /** One incremental update with these rankings. */
  apply(batch: R[]): Promise<void>;
  onError(err: unknown): void;
  /** Starts background work after the caller has returned (setTimeout 0 in the worker). */
  defer(work: () => void): void;
}

export class RewardApplier<R> {
  private waiting: R[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly host: ApplierHost<R>) {}

  /** Rankings queued for the reward model, not yet applied. */
  get pending(): number {
    return this.waiting.length;
  }

  /** Queues rankings and starts a background update when the reward model is free. */
  enqueue(rankings: readonly R[]): void {
    this.waiting.push(...rankings);
    this.kick();
  }

  /** Starts the background applier unless it runs already or the reward model is busy. */
  kick(): void {
    if (this.running || this.waiting.length === 0 || !this.host.canApply(false)) return;
    this.running = new Promise<void>((resolve) => this.host.defer(resolve))
      .then(() => this.drain())
      .catch((err) => this.host.onError(err))
      .finally(() => {
        this.running = null;
      });
  }

  /** Applies everything queued now, in one update (at a step boundary of a stage that reads the reward model). */
  async applyNow(): Promise<number> {
    await this.settled();
    return this.applyBatch(true);
  }

  /** Resolves once no background update is in flight. */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Forgets what is queued (the reward model was replaced or dropped, or the rankings were cleared). */
  drop(): void {
    this.waiting = [];
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0 && this.host.canApply(false)) await this.applyBatch(false);
  }

  private async applyBatch(atBoundary: boolean): Promise<number> {
    if (this.waiting.length === 0 || !this.host.canApply(atBoundary)) return 0;
    const batch = this.waiting;
    this.waiting = [];
    await this.host.apply(batch);
    return batch.length;
  }
}
