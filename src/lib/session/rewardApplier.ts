/**
 * Coalesces rankings on their way to the reward model: a submit only queues its ranking; the queued ones
 * are applied together, in one incremental update, when the reward model is free: in the background when
 * no stage reads it, at a stage's step boundary while one does. An update may stop part-way (a pause at the
 * boundary, a stage waiting to start in the background): its rankings then wait, first, for the next one.
 * DOM-free and tfjs-free.
 */

export interface ApplierHost<R> {
  /**
   * Whether an update may run now: a reward model exists and is not training, and (in the background)
   * no running stage reads it; at a step boundary of the stage that reads it, `atBoundary` is true.
   */
  canApply(atBoundary: boolean): boolean;
  /** One incremental update with these rankings; false when `stop()` cut it short (they are queued again). */
  apply(batch: R[], stop: () => boolean): Promise<boolean | void>;
  /** In the background: an update in flight stops at its next boundary when this is true (a stage waits to start). */
  yieldTo?(): boolean;
  onError(err: unknown): void;
  /** Starts background work after the caller has returned (setTimeout 0 in the worker). */
  defer(work: () => void): void;
}

export class RewardApplier<R> {
  private waiting: R[] = [];
  private running: Promise<void> | null = null;
  /** Counts drop() calls: a batch cut short after a drop is not queued again. */
  private generation = 0;

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
  async applyNow(stop: () => boolean = () => false): Promise<number> {
    await this.settled();
    const applying = this.applyBatch(true, stop);
    // settled() waits for it too (a stage's step that reads the reward model, a start or reset)
    const tracked: Promise<void> = applying.then(
      () => {},
      () => {},
    );
    this.running = tracked;
    void tracked.finally(() => {
      if (this.running === tracked) this.running = null;
      // rankings that arrived during it wait for the next boundary, or, once the stage that read the reward model has
      // stopped (its last boundary: its kick found this update still running), for a background update now
      this.kick();
    });
    return applying;
  }

  /** Resolves once no update is in flight (in the background or at a boundary). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Forgets what is queued (the reward model was replaced or dropped, or the rankings were cleared). */
  drop(): void {
    this.waiting = [];
    this.generation += 1;
  }

  private async drain(): Promise<void> {
    const yielding = () => this.host.yieldTo?.() ?? false;
    while (this.waiting.length > 0 && this.host.canApply(false) && !yielding()) if ((await this.applyBatch(false, yielding)) === 0) break;
  }

  /** The rankings applied (0 when none could be, or the update stopped part-way and they wait again). */
  private async applyBatch(atBoundary: boolean, stop: () => boolean): Promise<number> {
    if (this.waiting.length === 0 || !this.host.canApply(atBoundary)) return 0;
    const batch = this.waiting;
    const generation = this.generation;
    this.waiting = [];
    if ((await this.host.apply(batch, stop)) !== false) return batch.length;
    if (generation === this.generation) this.waiting = [...batch, ...this.waiting];
    return 0;
  }
}
