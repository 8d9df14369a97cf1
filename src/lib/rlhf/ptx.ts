/**
 * The ptx term of PPO-ptx (InstructGPT Eq. 2), gamma * E_{x ~ D_pretrain}[log pi(x)], as the loss -mean log pi(x) on
 * windows of pretraining text as long as the rollout rows, drawn from a seeded stream.
 */
import * as tf from '@tensorflow/tfjs';
import { sampleLmBatch } from '../data/batches';
import { Rng } from '../data/rng';
import type { GPT } from '../model/gpt';
import { lmLoss } from '../model/logprobs';

/** Pretraining windows: inputs x and next-token targets y, [windows * time] row-major. */
export interface PtxWindows {
  x: Int32Array;
  y: Int32Array;
}

export class PtxText {
  private readonly rng: Rng;

  constructor(
    private readonly tokens: Int32Array,
    /** Windows drawn at a time (a minibatch's). */
    private readonly windowsPerDraw: number,
    private readonly time: number,
    seed: number,
  ) {
    this.rng = new Rng(seed);
  }

  /** The next windowsPerDraw windows of the stream. */
  windows(): PtxWindows {
    return sampleLmBatch(this.tokens, this.windowsPerDraw, this.time, this.rng);
  }

  /** -mean log pi(x) on windows [from, to) of `ptx`. */
  loss(policy: GPT, ptx: PtxWindows, from: number, to: number): tf.Scalar {
    const { time } = this;
    const x = tf.tensor2d(ptx.x.subarray(from * time, to * time), [to - from, time], 'int32');
    const y = tf.tensor2d(ptx.y.subarray(from * time, to * time), [to - from, time], 'int32');
    return lmLoss(policy, x, y);
  }

  /** The loss on the next windows, read back, with no gradient (for the chart when the term is off). */
  async lossOnly(policy: GPT): Promise<number> {
    const loss = tf.tidy(() => this.loss(policy, this.windows(), 0, this.windowsPerDraw));
    const value = (await loss.data())[0];
    loss.dispose();
    return value;
  }
}
