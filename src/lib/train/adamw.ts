/**
 * AdamW (decoupled weight decay, as nanoGPT) with global gradient-norm clipping.
 * A step whose loss or gradient norm is not finite changes nothing: the guard is applied on the
 * device, so no read-back is needed and the last good weights survive a NaN.
 */
import * as tf from '@tensorflow/tfjs';
import { onWebGpu } from '../model/kernels/program';
import { adamMoments, adamWeight } from '../model/kernels/adamw';

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

/**
 * Where the fused kernels run (webgpu), the update works on all parameters at once, as one flat vector: one concat
 * of the gradients, two kernels, no split. Per-parameter updates cost ~20 kernel launches per variable, which on a
 * software WebGPU adapter took longer than the forward and backward passes. Elsewhere (wasm, cpu, webgl) each
 * variable has its own moments: splitting a flat vector back into ~100 variables took 0.2 s a step on wasm with
 * the mini model, and where() with a scalar condition 0.25 s a call, so the guard is applied through scalars.
 */
export class AdamW {
  private readonly vars: tf.Variable[];
  /** Whether the state is flat and updated by the fused kernels (decided once, from the backend at construction). */
  private readonly fused: boolean;
  /** First and second moments: one flat variable (fused), else one per variable. */
  private readonly m: tf.Variable[];
  private readonly v: tf.Variable[];
  private readonly opts: AdamWOptions;
  private t = 0;
  /** The gradient (flat when fused, else one per variable), loss and metrics summed over the parts of a step so far. */
  private pending: { grads: tf.Tensor[]; loss: tf.Scalar; metrics: Record<string, tf.Scalar> } | null = null;

  constructor(vars: tf.Variable[], opts: Partial<AdamWOptions> = {}) {
    this.vars = vars;
    this.opts = { ...ADAMW_DEFAULTS, ...opts };
    this.fused = onWebGpu();
    const total = vars.reduce((n, w) => n + w.size, 0);
    const zeros = () => (this.fused ? [tf.variable(tf.zeros([total]), false)] : vars.map((w) => tf.variable(tf.zerosLike(w), false)));
    this.m = zeros();
    this.v = zeros();
  }

  get stepCount(): number {
    return this.t;
  }

  private flat(tensors: tf.Tensor[]): tf.Tensor1D {
    return tf.concat(tensors.map((t) => tf.reshape(t, [-1]))) as tf.Tensor1D;
  }

  /** One update of every variable from the gradient of f's loss. The caller disposes the returned scalars. */
  step(f: () => LossWithMetrics, lr: number): StepResult {
    this.accumulate(f);
    return this.applyAccumulated(lr);
  }

  /**
   * Gradient accumulation: adds the gradient of f's loss (and the loss and metrics) to the pending sum, for a step
   * split into parts. Each part's loss must be scaled by its share of the whole, so that the sum is the step's loss.
   */
  accumulate(f: () => LossWithMetrics): void {
    let kept: Record<string, tf.Scalar> = {};
    const part = tf.tidy(() => {
      const { value: loss, grads } = tf.variableGrads(() => {
        const out = f();
        kept = Object.fromEntries(Object.entries(out.metrics ?? {}).map(([k, s]) => [k, tf.keep(s)]));
        return out.loss;
      }, this.vars);
      // A variable that the loss does not reach gets a zero gradient.
      const each = this.vars.map((w) => grads[w.name] ?? tf.zerosLike(w));
      return { loss, grads: this.fused ? [this.flat(each)] : each };
    });
    const sum = this.pending;
    if (!sum) {
      this.pending = { ...part, metrics: kept };
      return;
    }
    const add = <T extends tf.Tensor>(a: T, b: T) => {
      const c = tf.add(a, b) as T;
      tf.dispose([a, b]);
      return c;
    };
    sum.grads = sum.grads.map((g, i) => add(g, part.grads[i]));
    sum.loss = add(sum.loss, part.loss);
    for (const [k, v] of Object.entries(kept)) sum.metrics[k] = sum.metrics[k] ? add(sum.metrics[k], v) : v;
  }

  /** Drops the accumulated parts (a step cut short); the weights and moments stay as they were. */
  discardAccumulated(): void {
    if (!this.pending) return;
    const { grads, loss, metrics } = this.pending;
    tf.dispose([...grads, loss, ...Object.values(metrics)]);
    this.pending = null;
  }

  /**
   * One update of every variable from the accumulated gradient. The caller disposes the returned scalars.
   * A step whose loss or gradient norm is not finite changes neither the weights nor the moments.
   */
  applyAccumulated(lr: number): StepResult {
    const pending = this.pending;
    if (!pending) throw new Error('AdamW: no accumulated gradient to apply');
    this.pending = null;
    this.t += 1;
    const { beta1, beta2, eps, maxGradNorm } = this.opts;
    const args = { lr, beta1, beta2, bias1: 1 - beta1 ** this.t, bias2: 1 - beta2 ** this.t, eps, maxGradNorm };
    const { grads, loss, metrics } = pending;
    const squares = (g: tf.Tensor) => tf.sum(tf.square(g));
    const gradNorm = tf.tidy(() => tf.sqrt(grads.length === 1 ? squares(grads[0]) : tf.addN(grads.map(squares))) as tf.Scalar);
    tf.tidy(() =>
      this.fused ? this.fusedUpdate(grads[0] as tf.Tensor1D, loss, gradNorm, args) : this.composedUpdate(grads, loss, gradNorm, args),
    );
    tf.dispose(grads);
    return { loss, gradNorm, metrics };
  }

  /**
   * m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2,  g clipped to maxGradNorm;
   * w -= lr * (m / bias1 / (sqrt(v / bias2) + eps) + weightDecay * w)  (decay on matrices only, not biases and gains).
   * Not finite: beta 1, (1 - beta) 0 and lr 0 keep everything exactly as it was (g's own NaNs are zeroed first).
   */
  private composedUpdate(grads: tf.Tensor[], loss: tf.Scalar, gradNorm: tf.Scalar, args: Parameters<typeof adamMoments>[5]): void {
    const { lr, beta1, beta2, bias1, bias2, eps, maxGradNorm } = args;
    const finite = tf.logicalAnd(tf.isFinite(loss), tf.isFinite(gradNorm));
    const pick = (ok: number, not: number) => tf.where(finite, tf.scalar(ok), tf.scalar(not));
    const clip =
      maxGradNorm > 0 ? tf.where(finite, tf.minimum(1, tf.div(maxGradNorm, tf.add(gradNorm, 1e-6))), tf.scalar(1)) : tf.scalar(1);
    const [keep1, take1, keep2, take2, rate] = [pick(beta1, 1), pick(1 - beta1, 0), pick(beta2, 1), pick(1 - beta2, 0), pick(lr, 0)];
    this.vars.forEach((w, i) => {
      const g = tf.mul(tf.where(tf.isFinite(grads[i]), grads[i], tf.zerosLike(grads[i])), clip);
      const m = tf.add(tf.mul(this.m[i], keep1), tf.mul(g, take1));
      const v = tf.add(tf.mul(this.v[i], keep2), tf.mul(tf.square(g), take2));
      const adam = tf.div(tf.div(m, bias1), tf.add(tf.sqrt(tf.div(v, bias2)), eps));
      const update = w.rank >= 2 ? tf.add(adam, tf.mul(w, this.opts.weightDecay)) : adam;
      w.assign(tf.sub(w, tf.mul(update, rate)));
      this.m[i].assign(m);
      this.v[i].assign(v);
    });
  }

  /** The same update with the fused kernels of model/kernels/adamw.ts (webgpu): moments, then each parameter from them. */
  private fusedUpdate(g: tf.Tensor1D, loss: tf.Scalar, gradNorm: tf.Scalar, args: Parameters<typeof adamMoments>[5]): void {
    const [m, v] = adamMoments(this.m[0], this.v[0], g, loss, gradNorm, args);
    let offset = 0;
    this.vars.forEach((w) => {
      const decay = w.rank >= 2 ? this.opts.weightDecay : 0;
      w.assign(adamWeight(w, m, v, loss, gradNorm, offset, decay, args));
      offset += w.size;
    });
    this.m[0].assign(m);
    this.v[0].assign(v);
  }

  dispose(): void {
    this.discardAccumulated();
    tf.dispose([...this.m, ...this.v]);
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
