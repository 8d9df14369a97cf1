/**
 * Named scalar metrics summed on the device over the updates of a step (e.g. PPO's minibatches) and read back once,
 * as means: one sync a step rather than one an update.
 */
import * as tf from '@tensorflow/tfjs';
import type { StepResult } from './adamw';

export class MetricSums<K extends string> {
  private sums: tf.Tensor1D | null = null;
  private count = 0;

  constructor(private readonly names: readonly K[]) {}

  /** Adds an update's metrics (a name it lacks counts 0) and frees the update's result. */
  add(result: StepResult): void {
    const values = tf.tidy(() => tf.stack(this.names.map((k) => result.metrics[k] ?? tf.scalar(0))) as tf.Tensor1D);
    tf.dispose([result.loss, result.gradNorm, ...Object.values(result.metrics)]);
    const next: tf.Tensor1D = this.sums ? tf.add(this.sums, values) : values;
    if (this.sums) tf.dispose([this.sums, values]);
    this.sums = next;
    this.count += 1;
  }

  /** The mean of each metric over the updates added, read back in one sync; the sums are freed. */
  async means(): Promise<Record<K, number>> {
    const sums = this.sums ? await this.sums.data() : new Float32Array(this.names.length);
    this.dispose();
    const count = Math.max(this.count, 1);
    return Object.fromEntries(this.names.map((k, i) => [k, sums[i] / count])) as Record<K, number>;
  }

  dispose(): void {
    this.sums?.dispose();
    this.sums = null;
  }
}
