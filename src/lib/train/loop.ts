/**
 * The one training-loop shape that every stage (pretrain, SFT, reward model, PPO-ptx) runs in.
 * A stage knows how to take one step; the loop runs, pauses, single-steps, evaluates every so
 * often, stops on a non-finite metric, and reports through hooks.
 */
export type Metrics = Record<string, number>;

export interface Stage {
  readonly name: string;
  readonly totalSteps: number;
  /** Steps finished so far. */
  readonly stepsDone: number;
  /** Steps run beyond totalSteps, e.g. the reward model's incremental updates on new rankings (absent: none). */
  readonly extraSteps?: number;
  /** One update (a PPO-ptx iteration counts as one); returns metrics already read back from the device. */
  step(): Promise<Metrics>;
  /** Held-out metrics, run every `evalEvery` steps and at the end. */
  evaluate?(): Promise<Metrics>;
  /**
   * After a step whose metrics are not finite: puts back the weights at the end of the last step that ended finite
   * and returns its number (0: the weights the stage began with). Without it, the loop keeps what AdamW kept.
   */
  restoreLastGood?(): number;
  dispose(): void;
}

/** 'pausing': a pause was asked for; the step in flight stops at its next safe boundary (or ends). */
export type LoopState = 'idle' | 'running' | 'pausing' | 'paused' | 'done' | 'error';

export interface LoopHooks {
  onMetrics?(step: number, metrics: Metrics, kind: 'train' | 'eval'): void;
  onState?(state: LoopState, message?: string): void;
  /** Called after each step; lets the owner interleave work (samples, reward-model updates). */
  afterStep?(step: number): Promise<void> | void;
}

export interface LoopOptions {
  evalEvery: number; // 0 = only at the end
  /** Also evaluate before the first step (reported at step 0): where the stage starts from. */
  evalAtStart: boolean;
  /** What a step is called in messages ('step', 'iteration'). */
  stepLabel: string;
}

/** The name of the first metric that is NaN or infinite, or null; entries left undefined are skipped. */
export function firstNonFinite(metrics: Readonly<Record<string, number | undefined>>): string | null {
  for (const [name, value] of Object.entries(metrics)) if (value !== undefined && !Number.isFinite(value)) return name;
  return null;
}

export class TrainingLoop {
  state: LoopState = 'idle';
  message = '';
  private readonly stage: Stage;
  private readonly hooks: LoopHooks;
  private readonly opts: LoopOptions;
  private running: Promise<void> | null = null;
  private evaluatedAtStart = false;

  constructor(stage: Stage, hooks: LoopHooks = {}, opts: Partial<LoopOptions> = {}) {
    this.stage = stage;
    this.hooks = hooks;
    this.opts = { evalEvery: 0, evalAtStart: false, stepLabel: 'step', ...opts };
  }

  /** Runs until done, paused or an error; resolves when the loop has stopped. */
  run(): Promise<void> {
    if (this.running) return this.running;
    if (this.state === 'done' || this.state === 'error') return Promise.resolve();
    this.setState('running');
    this.running = this.loop().finally(() => (this.running = null));
    return this.running;
  }

  /** Stops after the step in flight (or at its next safe boundary: see stopRequested); resolves once it has. */
  async pause(): Promise<void> {
    if (this.state === 'running') this.setState('pausing');
    await this.running;
  }

  /** Whether a stage should stop inside its step at the next safe boundary (a pause was asked for). */
  get stopRequested(): boolean {
    return this.state === 'pausing';
  }

  /** Exactly one step, from idle or paused. */
  async stepOnce(): Promise<Metrics | null> {
    if (this.running || this.state === 'done' || this.state === 'error') return null;
    const metrics = await this.oneStep();
    if (this.state === 'idle' && metrics) this.setState('paused');
    return metrics;
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') {
      await this.oneStep();
      // Yield to the event loop so that pause and other messages get through between steps.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (this.state === 'pausing') this.setState('paused');
  }

  private async oneStep(): Promise<Metrics | null> {
    if (this.stage.stepsDone >= this.stage.totalSteps) {
      this.setState('done');
      return null;
    }
    try {
      return await this.stepAndReport();
    } catch (err) {
      this.setState('error', err instanceof Error ? err.message : String(err));
      return null;
    }
  }

  /** One step, its metrics, the evaluation when due, the owner's afterStep; null when the stage paused inside it. */
  private async stepAndReport(): Promise<Metrics | null> {
    const before = this.stage.stepsDone;
    if (before === 0 && this.opts.evalAtStart && this.stage.evaluate && !this.evaluatedAtStart) {
      this.hooks.onMetrics?.(0, await this.stage.evaluate(), 'eval');
      this.evaluatedAtStart = true;
    }
    const metrics = await this.stage.step();
    // a stage that stopped inside its step (a pause) made no step: nothing to report, the next call resumes it
    if (this.stage.stepsDone === before) return null;
    const bad = firstNonFinite(metrics);
    if (bad) {
      this.setState('error', this.nonFiniteStop(before + 1, bad, metrics[bad]));
      return metrics;
    }
    const step = this.stage.stepsDone;
    this.hooks.onMetrics?.(step, metrics, 'train');
    const evalDue = this.opts.evalEvery > 0 && step % this.opts.evalEvery === 0;
    const finished = step >= this.stage.totalSteps;
    if (this.stage.evaluate && (evalDue || finished)) this.hooks.onMetrics?.(step, await this.stage.evaluate(), 'eval');
    await this.hooks.afterStep?.(step);
    if (finished) this.setState('done');
    return metrics;
  }

  /** Restores the stage's last good weights where it can, and says what happened and which weights it holds. */
  private nonFiniteStop(at: number, metric: string, value: number): string {
    const label = this.opts.stepLabel;
    const restored = this.stage.restoreLastGood?.();
    const weights =
      restored === undefined
        ? `The weights from the last good ${label} are kept`
        : restored === 0
          ? 'The weights from before the stage are restored'
          : `The weights from the end of ${label} ${restored} are restored`;
    return `Stopped at ${label} ${at}: ${metric} became ${value}. ${weights}; try a lower learning rate.`;
  }

  private setState(state: LoopState, message = ''): void {
    this.state = state;
    this.message = message;
    this.hooks.onState?.(state, message);
  }
}
