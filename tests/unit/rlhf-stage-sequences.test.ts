import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { GPT } from '../../src/lib/model/gpt';
import type { ModelConfig } from '../../src/lib/model/config';
import { perTokenRewards } from '../../src/lib/rlhf/kl';
import { RewardModel } from '../../src/lib/rlhf/rewardModel';
import { fitPair, fixedBatch, packSequences, sequenceTensors, disposeSequenceTensors } from '../../src/lib/rlhf/sequences';
import { useWasmBackend } from './setup-tf';

const EOS = 0;
const row = (xs: ArrayLike<number>, r: number, time: number) => Array.from(xs).slice(r * time, (r + 1) * time);

beforeAll(useWasmBackend);

describe('packSequences', () => {
  // prompts and responses of unequal lengths; responses end with the eos (0) except the second
  const pairs = [
    { prompt: [11, 12], response: [21, 22, 23, EOS] },
    { prompt: [11, 12, 13, 14], response: [21, 22] },
    { prompt: [11], response: [EOS] },
  ];
  const seq = packSequences(pairs, 8, EOS, 4);

  it('right-pads ids with eos and marks dummy rows', () => {
    expect(row(seq.ids, 0, 8)).toEqual([11, 12, 21, 22, 23, EOS, EOS, EOS]);
    expect(row(seq.ids, 1, 8)).toEqual([11, 12, 13, 14, 21, 22, EOS, EOS]);
    expect(row(seq.ids, 2, 8)).toEqual([11, EOS, EOS, EOS, EOS, EOS, EOS, EOS]);
    expect(row(seq.ids, 3, 8)).toEqual(new Array(8).fill(EOS));
    expect(row(seq.targetMask, 3, 8)).toEqual(new Array(8).fill(0));
  });

  it('puts lastIndex on the last response token (the eos where the response ended)', () => {
    expect(Array.from(seq.lastIndex.subarray(0, 3))).toEqual([5, 5, 1]);
    expect(seq.ids[0 * 8 + 5]).toBe(EOS); // row 0 ended: its eos
    expect(seq.ids[1 * 8 + 5]).toBe(22); // row 1 never ended: its last written token
    expect(seq.ids[2 * 8 + 1]).toBe(EOS); // row 2: an empty response is just the eos
  });

  it('masks exactly the targets that are response tokens', () => {
    // column t predicts ids[t + 1]
    expect(row(seq.targets, 0, 8)).toEqual([12, 21, 22, 23, EOS, EOS, EOS, EOS]);
    expect(row(seq.targetMask, 0, 8)).toEqual([0, 1, 1, 1, 1, 0, 0, 0]);
    expect(row(seq.targetMask, 1, 8)).toEqual([0, 0, 0, 1, 1, 0, 0, 0]);
    expect(row(seq.targetMask, 2, 8)).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    for (let r = 0; r < 3; r++) {
      const masked = row(seq.targetMask, r, 8).reduce((a, b) => a + b, 0);
      expect(masked).toBe(seq.responseLength[r]);
      // the last masked column is lastIndex - 1: where the per-token reward gets the score
      expect(row(seq.targetMask, r, 8).lastIndexOf(1)).toBe(seq.lastIndex[r] - 1);
    }
  });

  it('cuts long prompts from the left and long responses from the right', () => {
    const long = { prompt: [1, 2, 3, 4, 5, 6], response: [7, 8, 9, 10, 11, EOS] };
    expect(fitPair(long, 8, 4)).toEqual({ promptKept: 4, responseKept: 4 });
    const cut = packSequences([long], 8, EOS, 1, 4);
    expect(Array.from(cut.ids)).toEqual([3, 4, 5, 6, 7, 8, 9, 10]); // prompt end kept, response start kept, no eos
    expect(cut.lastIndex[0]).toBe(7);
    expect(fitPair({ prompt: [1, 2, 3], response: [4] }, 8)).toEqual({ promptKept: 3, responseKept: 1 });
    expect(fitPair({ prompt: new Array(20).fill(1), response: [4] }, 8, 100)).toEqual({ promptKept: 7, responseKept: 1 });
  });

  it('keeps a pair that fits whole, and by default cuts a long prompt only as far as its response needs', () => {
    // a closed-domain prompt longer than half the row: its story (the start) must not be cut when the pair fits
    expect(fitPair({ prompt: [1, 2, 3, 4, 5, 6], response: [7, EOS] }, 8)).toEqual({ promptKept: 6, responseKept: 2 });
    expect(fitPair({ prompt: new Array(10).fill(1), response: [7, EOS] }, 8)).toEqual({ promptKept: 6, responseKept: 2 });
    // a response longer than half the row still leaves the prompt half of it
    expect(fitPair({ prompt: [1, 2, 3, 4, 5, 6], response: [7, 8, 9, 10, 11, 12, EOS] }, 8)).toEqual({ promptKept: 4, responseKept: 4 });
    const whole = packSequences([{ prompt: [1, 2, 3, 4, 5, 6], response: [7, EOS] }], 8, EOS, 1);
    expect(Array.from(whole.ids)).toEqual([1, 2, 3, 4, 5, 6, 7, EOS]);
  });

  it('fills a short fixed batch by repeating items', () => {
    expect(fixedBatch([1, 2, 3, 4, 5], 3, 4)).toEqual([4, 5, 1, 2]);
  });
});

describe('reward position and KL mask on padded rows', () => {
  it('puts the score on column lastIndex - 1 and the KL only on response tokens', async () => {
    const seq = packSequences(
      [
        { prompt: [3, 4, 5], response: [6, EOS] },
        { prompt: [3], response: [6, 7, 8, 9, EOS] },
      ],
      8,
      EOS,
    );
    const t = sequenceTensors(seq);
    const logp = tf.fill([2, 8], -1) as tf.Tensor2D;
    const logpRef = tf.fill([2, 8], -1.5) as tf.Tensor2D; // k1 = 0.5 everywhere before masking
    const { rewards, kl } = perTokenRewards(
      tf.tensor1d([10, 20]),
      logp,
      logpRef,
      t.targetMask,
      tf.sub(t.lastIndex, 1) as tf.Tensor1D,
      0.1,
      'k1',
    );
    const r = (await rewards.array()) as number[][];
    const k = (await kl.array()) as number[][];
    expect(k[0]).toEqual([0, 0, 0.5, 0.5, 0, 0, 0, 0]);
    expect(k[1]).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0, 0, 0]);
    expect(r[0][3]).toBeCloseTo(10 - 0.05, 5); // row 0: the eos at position 4 is written by column 3
    expect(r[1][4]).toBeCloseTo(20 - 0.05, 5); // row 1: the eos at position 5 is written by column 4
    expect(r[0][2]).toBeCloseTo(-0.05, 5);
    expect(r[1][5]).toBe(0);
    tf.dispose([logp, logpRef, rewards, kl]);
    disposeSequenceTensors(t);
  });

  it('reads the reward model at lastIndex: tokens after it never change the score', async () => {
    const cfg: ModelConfig = { vocabSize: 20, blockSize: 8, nLayer: 1, nHead: 2, nEmbd: 16 };
    const policy = GPT.init(cfg, 1);
    const rm = RewardModel.fromPolicy(policy, 2);
    const ids = tf.tensor2d(
      [
        [3, 4, 5, 6, 0, 0, 0, 0],
        [3, 4, 5, 6, 0, 9, 9, 9],
        [3, 4, 5, 7, 0, 0, 0, 0],
      ],
      undefined,
      'int32',
    );
    const last = tf.tensor1d([4, 4, 4], 'int32');
    const scores = await rm.scores(ids, last).data();
    expect(scores[1]).toBeCloseTo(scores[0], 5); // padding after lastIndex is ignored
    expect(Math.abs(scores[2] - scores[0])).toBeGreaterThan(1e-6); // a response token before it counts
    const values = (await rm.values(ids).array()) as number[][];
    expect(values[0][4]).toBeCloseTo(scores[0], 5); // the value at lastIndex is the score there
    tf.dispose([ids, last]);
    rm.dispose();
    policy.dispose();
  });
});
