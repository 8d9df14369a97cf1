/**
 * The pause/resume state machine of a stage whose step may stop part-way (PPO-ptx, DPO). A step is work in flight:
 * begun once, advanced from where it stands, and either finished or stopped by a pause at a safe boundary. A stopped
 * step keeps its work, so step() returns {} with stepsDone unchanged and the next step() resumes it: a paused run makes
 * exactly the updates of an unpaused one. Before a fresh step the trained weights are kept, so that a step whose
 * metrics are not finite can be undone (Stage.restoreLastGood).
 */
import * as tf from '@tensorflow/tfjs';
import { breather } from './breather';
import { PartSizer, yieldToEventLoop, type PartControl } from './parts';

/** Where a step is, for the progress line: a phase name, a label, and done of total. */
export interface Phase<N extends string = string> {
  name: N;
  label: string;
  done: number;
  total: number;
}

/** The app's hold on a step: progress, a pause at the next boundary, and parts of about partMs (train/parts.ts). */
export interface StepControlOptions<N extends string = string> extends PartControl {
  onPhase?(phase: Phase<N>): void;
}

/** A stage's view of its StepControlOptions: absent in scripts and tests, which then never yield or stop. */
export class StepControl<N extends string = string> {
  /** With a control (the app), long loops let the worker answer messages every BREATHE_MS; scripts never wait on timers. */
  readonly breathe: () => Promise<void>;

  constructor(private readonly options?: StepControlOptions<N>) {
    this.breathe = options ? breather() : async () => {};
  }

  get present(): boolean {
    return this.options !== undefined;
  }

  /** Whether steps run in parts (partMs was given). */
  get inParts(): boolean {
    return this.options?.partMs !== undefined;
  }

  get onPhase(): ((phase: Phase<N>) => void) | undefined {
    return this.options?.onPhase;
  }

  /** A sizer of parts of partMs (one row a part when none was given). */
  sizer(): PartSizer {
    return new PartSizer(this.options?.partMs ?? 0);
  }

  readonly shouldStop = (): boolean => this.options?.shouldStop?.() ?? false;

  /** With a control: reports the phase about to run, lets messages through, and says whether to stop here. */
  async boundary(phase: Phase<N>): Promise<boolean> {
    if (!this.options) return false;
    this.options.onPhase?.(phase);
    await yieldToEventLoop();
    return this.shouldStop();
  }
}

/** The work of the step under way, kept across a pause; `release` frees what it holds on the device. */
export class StepInFlight<F> {
  private flight: F | null = null;

  constructor(private readonly release: (flight: F) => void = () => {}) {}

  get active(): boolean {
    return this.flight !== null;
  }

  /**
   * Resumes the kept work, or begins it with `begin` (null: a pause stopped it before it was whole), then `advance`s it
   * (false: a pause stopped it). The finished work, no longer kept; null when paused. A throw drops the work.
   */
  async run(begin: () => Promise<F | null>, advance: (flight: F) => Promise<boolean>): Promise<F | null> {
    if (!this.flight) this.flight = await begin();
    const flight = this.flight;
    if (!flight) return null;
    let finished: boolean;
    try {
      finished = await advance(flight);
    } catch (err) {
      this.drop();
      throw err;
    }
    if (!finished) return null;
    this.flight = null;
    return flight;
  }

  /** Forgets the work in flight (after a restore, on dispose). */
  drop(): void {
    if (this.flight) this.release(this.flight);
    this.flight = null;
  }
}

/** The trained variables' values at the end of the last finished step: what Stage.restoreLastGood puts back. */
export class LastGoodWeights {
  private kept: { step: number; weights: tf.Tensor[] } | null = null;

  constructor(private readonly variables: tf.Variable[]) {}

  /** Keeps the weights as they are now, after `step` steps (a device copy, or a shared buffer where the backend shares). */
  keep(step: number): void {
    if (this.kept) tf.dispose(this.kept.weights);
    this.kept = { step, weights: this.variables.map((v) => tf.clone(v)) };
  }

  /** Puts the kept weights back and returns the step they are from; null when nothing was kept. */
  restore(): number | null {
    const kept = this.kept;
    if (!kept) return null;
    this.variables.forEach((v, i) => v.assign(kept.weights[i]));
    return kept.step;
  }

  dispose(): void {
    if (this.kept) tf.dispose(this.kept.weights);
    this.kept = null;
  }
}
