/**
 * AdamW (decoupled weight decay, as nanoGPT) with global gradient-norm clipping.
 * A step whose loss or gradient norm is not finite changes nothing: the guard is applied on the
 * device, so no read-back is needed and the last good weights survive a NaN.
 */
import * as tf from '@tensorflow/tfjs';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number; // applied to matrices only, not to biases and LayerNorm gains
  maxGradNorm: number; // 0 = no clipping
}

export const ADAMW_DEFAULTS: AdamWOptions = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, maxGradNorm: 1 };

/** What a loss function hands the optimizer: the scalar to minimise and extra scalars to report. */
export interface LossWithMetrics {
  loss: tf.Scalar;
  metrics?: Record<string, tf.Scalar>;
}

export interface StepResult {
  loss: tf.Scalar;
  gradNorm: tf.Scalar;
  metrics: Record<string, tf.Scalar>;
}

export class AdamW {
  private readonly vars: tf.Variable[];
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private readonly opts: AdamWOptions;
  private t = 0;

  constructor(vars: tf.Variable[], opts: Partial<AdamWOptions> = {}) {
    this.vars = vars;
    this.opts = { ...ADAMW_DEFAULTS, ...opts };
    this.m = vars.map((w) => tf.variable(tf.zerosLike(w), false));
    this.v = vars.map((w) => tf.variable(tf.zerosLike(w), false));
  }

  get stepCount(): number {
    return this.t;
  }

  /** One update of every variable from the gradient of f's loss. The caller disposes the returned scalars. */
  step(f: () => LossWithMetrics, lr: number): StepResult {
    this.t += 1;
    const { beta1, beta2, eps, weightDecay, maxGradNorm } = this.opts;
    const bias1 = 1 - beta1 ** this.t;
    const bias2 = 1 - beta2 ** this.t;
    let kept: Record<string, tf.Scalar> = {};
    return tf.tidy(() => {
      const { value: loss, grads } = tf.variableGrads(() => {
        const out = f();
        kept = Object.fromEntries(Object.entries(out.metrics ?? {}).map(([k, s]) => [k, tf.keep(s)]));
        return out.loss;
      }, this.vars);
      const present = this.vars.map((w) => grads[w.name] ?? null);
      const gradNorm = tf.sqrt(tf.addN(present.filter((g): g is tf.Tensor => g !== null).map((g) => tf.sum(tf.square(g))))) as tf.Scalar;
      const clip = maxGradNorm > 0 ? tf.minimum(1, tf.div(maxGradNorm, tf.add(gradNorm, 1e-6))) : tf.scalar(1);
      const finite = tf.logicalAnd(tf.isFinite(loss), tf.isFinite(gradNorm));
      this.vars.forEach((w, i) => {
        const raw = present[i];
        if (!raw) return;
        const g = tf.mul(raw, clip);
        const m = tf.add(tf.mul(this.m[i], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[i], beta2), tf.mul(tf.square(g), 1 - beta2));
        const adam = tf.div(tf.div(m, bias1), tf.add(tf.sqrt(tf.div(v, bias2)), eps));
        const decay = w.rank >= 2 ? tf.mul(w, weightDecay) : tf.zerosLike(w);
        const updated = tf.sub(w, tf.mul(tf.add(adam, decay), lr));
        w.assign(tf.where(finite, updated, w));
        this.m[i].assign(tf.where(finite, m, this.m[i]));
        this.v[i].assign(tf.where(finite, v, this.v[i]));
      });
      return { loss, gradNorm, metrics: kept };
    });
  }

  dispose(): void {
    [...this.m, ...this.v].forEach((t) => t.dispose());
  }
}

/** Reads a step's scalars back in one go and disposes them. */
export async function readStep(result: StepResult): Promise<Record<string, number>> {
  const names = ['loss', 'grad_norm', ...Object.keys(result.metrics)];
  const scalars = [result.loss, result.gradNorm, ...Object.values(result.metrics)];
  const stacked = tf.stack(scalars);
  const values = await stacked.data();
  stacked.dispose();
  scalars.forEach((s) => s.dispose());
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}
