import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/lib/data/rng';
import {
  pairMetrics,
  parseRankingsFile,
  preferencePairsToJsonl,
  pairMatrix,
  rankingPairs,
  rankingsToJsonl,
  toPreferencePairs,
  validateRanking,
  type Ranking,
} from '../../src/lib/rlhf/rankings';
import { pairDiffs, rankingLoss } from '../../src/lib/rlhf/losses';
import { useWasmBackend } from './setup-tf';

/** Eq. 1 exactly as the reward model's training computes it, over rankings laid out one after another. */
function eq1(rewards: tf.Tensor1D, orders: number[][]): tf.Scalar {
  return tf.tidy(() => {
    const { matrix, weights, rows, pairRows } = pairMatrix(orders);
    return rankingLoss(pairDiffs(rewards, tf.tensor2d(matrix, [pairRows, rows])), tf.tensor1d(weights));
  });
}

beforeAll(useWasmBackend);

function ranking(k: number, order: number[], id = `r${k}`): Ranking {
  return {
    id,
    prompt: `prompt ${id}`,
    completions: Array.from({ length: k }, (_, i) => `completion ${i} of ${id}`),
    order,
    createdAt: 1_700_000_000_000,
    source: 'user',
  };
}

// K = 4, rewards of completions 0..3 and the best-first order 3 > 0 > 1 > 2.
const REWARDS_K4 = [1.0, 0.5, -0.5, 2.0];
const ORDER_K4 = [3, 0, 1, 2];
// The 6 pairs, d = r_w - r_l, -log sigmoid(d) = log(1 + e^-d):
//   (3,0) d=1.0 -> 0.3132617   (3,1) d=1.5 -> 0.2014133   (3,2) d=2.5 -> 0.0788897
//   (0,1) d=0.5 -> 0.4740770   (0,2) d=1.5 -> 0.2014133   (1,2) d=1.0 -> 0.3132617
// loss = (0.3132617 + 0.2014133 + 0.0788897 + 0.4740770 + 0.2014133 + 0.3132617) / 6 = 0.2637194
const LOSS_K4 = 0.2637194;

describe('rankingPairs', () => {
  it('gives K(K-1)/2 pairs, winner always ranked above loser, for K = 2..9', () => {
    for (let k = 2; k <= 9; k++) {
      const order = new Rng(k).shuffle([...Array(k).keys()]); // a shuffled permutation
      const pairs = rankingPairs(order);
      expect(pairs).toHaveLength((k * (k - 1)) / 2);
      const rank = (c: number) => order.indexOf(c);
      for (const { winner, loser } of pairs) expect(rank(winner)).toBeLessThan(rank(loser));
      const keys = new Set(pairs.map(({ winner, loser }) => `${Math.min(winner, loser)}-${Math.max(winner, loser)}`));
      expect(keys.size).toBe(pairs.length); // every unordered pair once
    }
  });

  it('lists the K = 3 pairs explicitly', () => {
    expect(rankingPairs([2, 0, 1])).toEqual([
      { winner: 2, loser: 0 },
      { winner: 2, loser: 1 },
      { winner: 0, loser: 1 },
    ]);
  });

  it('rejects an order that is not a permutation', () => {
    expect(() => rankingPairs([0, 0, 1])).toThrow(/twice/);
    expect(() => rankingPairs([0, 3])).toThrow(/index/);
  });
});

describe('rankingLoss (InstructGPT Eq. 1)', () => {
  it('equals the hand computation for K = 4', async () => {
    const loss = eq1(tf.tensor1d(REWARDS_K4), [ORDER_K4]);
    expect((await loss.data())[0]).toBeCloseTo(LOSS_K4, 5);
  });

  it('is log 2 when all rewards are equal', async () => {
    const loss = eq1(tf.tensor1d([0.3, 0.3, 0.3]), [[1, 2, 0]]);
    expect((await loss.data())[0]).toBeCloseTo(Math.LN2, 6);
  });

  it('is stable for large margins (no Infinity/NaN)', async () => {
    const loss = eq1(tf.tensor1d([-200, 200]), [[0, 1]]); // preferred one scores far lower
    expect((await loss.data())[0]).toBeCloseTo(400, 2);
    const good = eq1(tf.tensor1d([200, -200]), [[0, 1]]);
    expect((await good.data())[0]).toBeCloseTo(0, 6);
  });

  it('has the hand derivative w.r.t. the rewards', async () => {
    // dL/dr_w = -sigmoid(-d)/6, dL/dr_l = +sigmoid(-d)/6 summed over the pairs of each completion;
    // sigmoid(-1) = 0.2689414, sigmoid(-1.5) = 0.1824255, sigmoid(-2.5) = 0.0758582, sigmoid(-0.5) = 0.3775407
    const s = (d: number) => 1 / (1 + Math.exp(d));
    const expected = [
      (s(1.0) - s(0.5) - s(1.5)) / 6, // r0: loser to 3, winner over 1 and 2  = -0.0485041
      (s(1.5) + s(0.5) - s(1.0)) / 6, // r1: loser to 3 and 0, winner over 2 =  0.0485041
      (s(2.5) + s(1.5) + s(1.0)) / 6, // r2: loser to everyone               =  0.0878709
      -(s(1.0) + s(1.5) + s(2.5)) / 6, // r3: winner over everyone           = -0.0878709
    ];
    expect(expected[0]).toBeCloseTo(-0.0485041, 6);
    expect(expected[2]).toBeCloseTo(0.0878709, 6);
    const grad = tf.grad((r: tf.Tensor) => eq1(r as tf.Tensor1D, [ORDER_K4]))(tf.tensor1d(REWARDS_K4));
    const got = Array.from(await grad.data());
    got.forEach((g, i) => expect(g).toBeCloseTo(expected[i], 5));
  });
});

describe('rankingLossBatch', () => {
  it('equals the mean of the per-ranking losses', async () => {
    const rewardsA = [0.2, -1.0, 0.7]; // K = 3
    const rewardsB = REWARDS_K4; // K = 4
    const rewardsC = [0.1, 0.9]; // K = 2
    const orders = [[2, 0, 1], ORDER_K4, [0, 1]];
    const batch = eq1(tf.tensor1d([...rewardsA, ...rewardsB, ...rewardsC]), orders);
    const each = await Promise.all([rewardsA, rewardsB, rewardsC].map(async (r, i) => (await eq1(tf.tensor1d(r), [orders[i]]).data())[0]));
    const mean = (each[0] + each[1] + each[2]) / 3;
    expect((await batch.data())[0]).toBeCloseTo(mean, 5);
    expect(each[1]).toBeCloseTo(LOSS_K4, 5);
  });

  it('rejects a rewards tensor of the wrong length', () => {
    expect(() => eq1(tf.tensor1d([1, 2, 3]), [[0, 1]])).toThrow(/rewards/);
  });

  it('leaks no tensors (forward and gradient)', () => {
    const rewards = tf.tensor1d([0.1, 0.2, 0.3, 0.4, 0.5]);
    const before = tf.memory().numTensors;
    const loss = eq1(rewards, [
      [1, 0],
      [2, 0, 1],
    ]);
    const grad = tf.grad((r: tf.Tensor) =>
      eq1(r as tf.Tensor1D, [
        [1, 0],
        [2, 0, 1],
      ]),
    )(rewards);
    loss.dispose();
    grad.dispose();
    expect(tf.memory().numTensors).toBe(before);
    rewards.dispose();
  });
});

describe('pairMetrics', () => {
  it('counts strictly correct pairs and sums margins', () => {
    // order 3 > 0 > 1 > 2 with rewards [1, 0.5, 0.5, 2]: pair (1,2) is a tie -> not correct
    const m = pairMetrics([1, 0.5, 0.5, 2], ORDER_K4);
    expect(m.pairs).toBe(6);
    expect(m.correct).toBe(5);
    // margins: 1, 1.5, 1.5, 0.5, 0.5, 0
    expect(m.marginSum).toBeCloseTo(5, 10);
    const wrong = pairMetrics([0, 1], [0, 1]);
    expect(wrong).toEqual({ correct: 0, pairs: 1, marginSum: -1 });
  });
});

describe('validateRanking', () => {
  it('accepts a good ranking and drops unknown fields', () => {
    const r = validateRanking({ ...ranking(3, [1, 2, 0]), labelerId: 'ann', extra: 1 });
    expect(r).toEqual({ ...ranking(3, [1, 2, 0]), labelerId: 'ann' });
  });

  it('throws clear errors', () => {
    expect(() => validateRanking(null)).toThrow(/object/);
    expect(() => validateRanking({ ...ranking(3, [0, 1, 2]), id: '' })).toThrow(/id/);
    expect(() => validateRanking({ ...ranking(1, [0]) })).toThrow(/2\.\.9 completions/);
    expect(() => validateRanking({ ...ranking(10, [...Array(10).keys()]) })).toThrow(/2\.\.9 completions/);
    expect(() => validateRanking({ ...ranking(3, [0, 1]) })).toThrow(/order has 2 entries/);
    expect(() => validateRanking({ ...ranking(3, [0, 1, 1]) })).toThrow(/twice/);
    expect(() => validateRanking({ ...ranking(3, [0, 1, 2]), source: 'robot' })).toThrow(/source/);
    expect(() => validateRanking({ ...ranking(3, [0, 1, 2]), createdAt: 'today' })).toThrow(/createdAt/);
    expect(() => validateRanking({ ...ranking(2, [0, 1]), completions: ['a', 3] })).toThrow(/strings/);
  });
});

describe('JSONL export / import', () => {
  const rankings = [ranking(4, [3, 0, 1, 2], 'a'), { ...ranking(2, [1, 0], 'b'), source: 'labeler' as const, labelerId: 'L7' }];

  it('round-trips our full-ranking JSONL', () => {
    const text = rankingsToJsonl(rankings);
    expect(text.trim().split('\n')).toHaveLength(2);
    const { rankings: back, errors } = parseRankingsFile(text);
    expect(errors).toEqual([]);
    expect(back).toEqual(rankings);
  });

  it('expands a ranking into K(K-1)/2 TRL pairs', () => {
    const pairs = toPreferencePairs(rankings[0]);
    expect(pairs).toHaveLength(6);
    expect(pairs[0]).toEqual({ prompt: 'prompt a', chosen: 'completion 3 of a', rejected: 'completion 0 of a' });
    expect(preferencePairsToJsonl(rankings).trim().split('\n')).toHaveLength(7);
  });

  it('imports TRL pair JSONL as K = 2 rankings', () => {
    const text = preferencePairsToJsonl([rankings[1]]);
    const { rankings: back, errors } = parseRankingsFile(text, 42);
    expect(errors).toEqual([]);
    expect(back).toHaveLength(1);
    const [r] = back;
    expect(r.completions).toEqual(['completion 1 of b', 'completion 0 of b']);
    expect(r.order).toEqual([0, 1]);
    expect(r.source).toBe('import');
    expect(r.createdAt).toBe(42);
    expect(r.prompt).toBe('prompt b');
    // the same pair gets the same id
    expect(parseRankingsFile(text, 43).rankings[0].id).toBe(r.id);
  });

  it('reports bad lines with 1-based line numbers and keeps the good ones', () => {
    const good = JSON.stringify(rankings[0]);
    const pair = JSON.stringify({ prompt: 'p', chosen: 'c', rejected: 'r' });
    const text = [
      good, // 1
      '', // 2 blank: skipped
      '{not json', // 3
      '[1, 2]', // 4
      JSON.stringify({ foo: 1 }), // 5
      JSON.stringify({ ...rankings[0], order: [0, 0, 1, 2] }), // 6
      pair, // 7
      JSON.stringify({ prompt: 'p', chosen: 1, rejected: 'r' }), // 8
    ].join('\r\n');
    const { rankings: back, errors } = parseRankingsFile(text);
    expect(back).toHaveLength(2);
    expect(errors).toHaveLength(5);
    expect(errors[0]).toBe('line 3: not JSON');
    expect(errors[1]).toMatch(/^line 4: not a JSON object/);
    expect(errors[2]).toMatch(/^line 5: /);
    expect(errors[3]).toMatch(/^line 6: .*twice/);
    expect(errors[4]).toMatch(/^line 8: /);
  });

  it('never throws on garbage', () => {
    for (const text of ['', '\n\n', 'null', '"str"', '\u0000\u0001', '{"completions": 5}', '\uFEFF' + JSON.stringify(rankings[0])]) {
      expect(() => parseRankingsFile(text)).not.toThrow();
    }
    expect(parseRankingsFile('\uFEFF' + JSON.stringify(rankings[0])).rankings).toHaveLength(1);
    expect(parseRankingsFile(undefined as unknown as string).errors).toHaveLength(1);
  });
});
