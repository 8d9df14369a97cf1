/** A stage that counts up by a fixed amount; its one metric is the count. For tests of the stage registry and run history. */
import type { Stage } from '../../src/lib/train/loop';

export class CountingStage implements Stage {
  readonly name = 'count';
  stepsDone = 0;
  constructor(
    readonly totalSteps: number,
    private readonly by: number,
  ) {}
  async step() {
    this.stepsDone += 1;
    return { value: this.stepsDone * this.by };
  }
  dispose() {}
}
