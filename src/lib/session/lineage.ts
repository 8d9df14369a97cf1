/**
 * The policy's lineage: a version that grows with every change of its weights, the epoch (the version
 * where the current lineage began) and the names of the stages that trained it, newest first
 * ("PPO-ptx iteration 29 ← SFT ← shipped mini checkpoint"). Each stage's link comes from its
 * descriptor's `lineage` (StageInfo): a plain link, the 'start' of a new lineage, the 'end', or 'off'.
 */
import type { LineageInfo, StageName } from '../types';
import type { StageRunner } from './stageRunner';

export interface LineageHost {
  /** Where the model came from ("shipped mini checkpoint"): the lineage's root. */
  source(): string;
  /** A new lineage began at `version`: ranking tasks written before it are discarded. */
  discardTasksBefore(version: number): void;
  emit(lineage: LineageInfo): void;
}

export class PolicyLineage {
  /** Grows with every change of the policy's weights: ranking tasks carry it, so stale ones can give way. */
  version = 0;
  /** The version where the current lineage began (a new model, a 'start' stage finished, a reset). */
  epoch = 0;

  constructor(
    private readonly runner: StageRunner,
    private readonly host: LineageHost,
  ) {}

  /** Newest first, read from the stages that changed the weights since the model was set; a reset stage drops out. */
  names(): string[] {
    const trained = this.runner.stages
      .filter((d) => d.lineage !== 'off' && (this.runner.object(d.name)?.stepsDone ?? 0) > 0)
      .map((d) => {
        const status = this.runner.status(d.name);
        return status.state === 'done' && d.lineage !== 'end' ? d.title : `${d.title} ${d.stepLabel} ${status.step}`;
      });
    return [...trained.reverse(), this.host.source()];
  }

  info(): LineageInfo {
    return { lineage: this.names(), version: this.version, epoch: this.epoch };
  }

  emit(): void {
    this.host.emit(this.info());
  }

  /** A new model: a new version and a new lineage (its tasks are dropped by the caller). */
  newModel(): void {
    this.version += 1;
    this.epoch = this.version;
  }

  /** A stage finished a step: a new version; a 'start' stage's last step begins a new lineage. */
  stepped(stage: StageName): void {
    const d = this.runner.descriptor(stage);
    const { step, total } = this.runner.status(stage);
    this.changed(d.lineage === 'start' && total > 0 && step >= total);
  }

  /** A stage was undone: unless it leaves the policy alone, its weights went back and a new lineage begins. */
  reset(stage: StageName): void {
    if (this.runner.descriptor(stage).lineage !== 'off') this.changed(true);
  }

  private changed(newLineage: boolean): void {
    this.version += 1;
    if (newLineage) {
      this.epoch = this.version;
      this.host.discardTasksBefore(this.epoch);
    }
    this.emit();
  }
}
