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
 * The update works on all parameters at once, as one flat vector: one concat of the gradients, a
 * dozen elementwise ops, one split back. Per-parameter updates cost ~20 kernel launches per
 * variable, which on a software WebGPU adapter took longer than the forward and backward passes.
 */
export class AdamW {
  private readonly vars: tf.Variable[];
  private readonly sizes: number[];
  private readonly m: tf.Variable;
  private readonly v: tf.Variable;
  /** 1 where weight decay applies (matrices), 0 for biases and LayerNorm gains. */
  private readonly decayMask: tf.Tensor1D;
  private readonly opts: AdamWOptions;
  private t = 0;

  constructor(vars: tf.Variable[], opts: Partial<AdamWOptions> = {}) {
    this.vars = vars;
    this.opts = { ...ADAMW_DEFAULTS, ...opts };
    this.sizes = vars.map((w) => w.size);
    const total = this.sizes.reduce((a, b) => a + b, 0);
    this.m = tf.variable(tf.zeros([total]), false);
    this.v = tf.variable(tf.zeros([total]), false);
    const mask = new Float32Array(total);
    let offset = 0;
    vars.forEach((w) => {
      if (w.rank >= 2) mask.fill(1, offset, offset + w.size);
      offset += w.size;
    });
    this.decayMask = tf.keep(tf.tensor1d(mask));
  }

  get stepCount(): number {
    return this.t;
  }

  private flat(tensors: tf.Tensor[]): tf.Tensor1D {
    return tf.concat(tensors.map((t) => tf.reshape(t, [-1]))) as tf.Tensor1D;
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
      // A variable that the loss does not reach gets a zero gradient.
      const g = this.flat(this.vars.map((w) => grads[w.name] ?? tf.zerosLike(w)));
      const gradNorm = tf.sqrt(tf.sum(tf.square(g))) as tf.Scalar;
      if (onWebGpu()) {
        this.fusedUpdate(g, loss, gradNorm, { lr, beta1, beta2, bias1, bias2, eps, maxGradNorm });
        return { loss, gradNorm, metrics: kept };
      }
      const finite = tf.logicalAnd(tf.isFinite(loss), tf.isFinite(gradNorm));
      const clip = maxGradNorm > 0 ? tf.minimum(1, tf.div(maxGradNorm, tf.add(gradNorm, 1e-6))) : tf.scalar(1);
      const clipped = tf.where(finite, tf.mul(g, clip), tf.zerosLike(g));
      const m = tf.add(tf.mul(this.m, beta1), tf.mul(clipped, 1 - beta1));
      const v = tf.add(tf.mul(this.v, beta2), tf.mul(tf.square(clipped), 1 - beta2));
      const adam = tf.div(tf.div(m, bias1), tf.add(tf.sqrt(tf.div(v, bias2)), eps));
      const w = this.flat(this.vars);
      const update = tf.add(adam, tf.mul(this.decayMask, tf.mul(w, weightDecay)));
      // lr 0 when the step is not finite: weights and moments stay exactly as they were.
      const rate = tf.where(finite, tf.scalar(lr), tf.scalar(0));
      const updated = tf.sub(w, tf.mul(update, rate));
      tf.split(updated, this.sizes).forEach((part, i) => this.vars[i].assign(tf.reshape(part, this.vars[i].shape)));
      this.m.assign(tf.where(finite, m, this.m));
      this.v.assign(tf.where(finite, v, this.v));
      return { loss, gradNorm, metrics: kept };
    });
  }

  /** The same update with the fused kernels of model/kernels/adamw.ts (webgpu): moments, then each parameter from them. */
  private fusedUpdate(g: tf.Tensor1D, loss: tf.Scalar, gradNorm: tf.Scalar, args: Parameters<typeof adamMoments>[5]): void {
    const [m, v] = adamMoments(this.m, this.v, g, loss, gradNorm, args);
    let offset = 0;
    this.vars.forEach((w, i) => {
      const decay = w.rank >= 2 ? this.opts.weightDecay : 0;
      w.assign(adamWeight(w, m, v, loss, gradNorm, offset, decay, args));
      offset += this.sizes[i];
    });
    this.m.assign(m);
    this.v.assign(v);
  }

  dispose(): void {
    tf.dispose([this.m, this.v, this.decayMask]);
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
