/**
 * DPO's loss (losses.ts dpoLoss) and its gradient, derived by hand on one batch of three rankings, K = 2, 4 and 9,
 * built by rankings.ts pairMatrix as Eq. 1 reads it (each ranking weighs 1/3, its pairs 1/(3 C(K,2)) each).
 * beta = 0.1; each completion's log pi - log pi_ref is set so that the implicit rewards r = beta (log pi - log pi_ref)
 * have simple pair differences h = r_w - r_l:
 *   A, K = 2, order [1, 0]:          r = [0, ln 3]            -> one pair, h = ln 3
 *   B, K = 4, order [2, 0, 3, 1]:    all r equal               -> six pairs, h = 0
 *   C, K = 9, order [3, 8, 0, 5, 1, 7, 2, 6, 4]: the completion at rank position p has r = (8 - p) ln 3
 *                                                            -> a pair d positions apart has h = d ln 3
 * -log sigmoid(h) = ln(1 + e^-h), so
 *   loss = 1/3 [ ln(4/3) + ln 2 + 1/36 sum_{d=1..8} (9 - d) ln(1 + 3^-d) ]
 *        = 1/3 [ 0.2876821 + 0.6931472 + 3.3401427 / 36 ] = 0.3578703
 * and d loss / d log pi(y_i) = -beta sum_p w_p sigmoid(-h_p) M_pi (M: +1 winner, -1 loser), with sigmoid(-d ln 3) =
 * 1 / (1 + 3^d):
 *   A: winner -0.1 * 1/3 * 1/4 = -1/120, loser +1/120
 *   B: the completion at position p wins 3 - p pairs and loses p: -0.1 * 1/18 * 1/2 * (3 - 2p) = -(3 - 2p) / 360
 *   C: position p: -0.1/108 * [ sum_{q > p} 1/(1 + 3^(q-p)) - sum_{q < p} 1/(1 + 3^(p-q)) ]
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { dpoLoss } from '../../src/lib/rlhf/losses';
import { pairMatrix } from '../../src/lib/rlhf/rankings';
import { useWasmBackend } from './setup-tf';

beforeAll(useWasmBackend);

const beta = 0.1;
const ln3 = Math.log(3);
const orders = [
  [1, 0],
  [2, 0, 3, 1],
  [3, 8, 0, 5, 1, 7, 2, 6, 4],
];

/** Implicit reward of each completion (in completion order), as the header sets them. */
function rewardsOf(order: number[], rewardAtPosition: (p: number) => number): number[] {
  const r = new Array<number>(order.length);
  order.forEach((completion, p) => (r[completion] = rewardAtPosition(p)));
  return r;
}

const rewards = [
  rewardsOf(orders[0], (p) => (p === 0 ? ln3 : 0)),
  rewardsOf(orders[1], () => 0.25),
  rewardsOf(orders[2], (p) => (8 - p) * ln3),
].flat();
const refLogps = rewards.map((_, i) => -3 - 0.5 * i); // any values: only log pi - log pi_ref counts
const logps = rewards.map((r, i) => refLogps[i] + r / beta);

function inputs() {
  const pm = pairMatrix(orders);
  return {
    logps: tf.tensor1d(logps),
    refLogps: tf.tensor1d(refLogps),
    pairs: tf.tensor2d(pm.matrix, [pm.pairRows, pm.rows]),
    weights: tf.tensor1d(pm.weights),
  };
}

/** The hand-derived gradient of the header, in completion order of the whole batch. */
function expectedGradient(): number[] {
  const a = rewardsOf(orders[0], (p) => (p === 0 ? -1 / 120 : 1 / 120));
  const b = rewardsOf(orders[1], (p) => -(3 - 2 * p) / 360);
  const c = rewardsOf(orders[2], (p) => {
    let wins = 0;
    let losses = 0;
    for (let q = p + 1; q < 9; q++) wins += 1 / (1 + 3 ** (q - p));
    for (let q = 0; q < p; q++) losses += 1 / (1 + 3 ** (p - q));
    return (-0.1 / 108) * (wins - losses);
  });
  return [...a, ...b, ...c];
}

describe('dpoLoss (K = 2, 4 and 9 in one batch)', () => {
  it('matches the hand-derived loss, implicit rewards and pair differences', async () => {
    const { logps, refLogps, pairs, weights } = inputs();
    const out = dpoLoss(logps, refLogps, pairs, weights, beta);
    const closedForm =
      (Math.log(4 / 3) +
        Math.log(2) +
        Array.from({ length: 8 }, (_, i) => (8 - i) * Math.log(1 + 3 ** -(i + 1))).reduce((s, x) => s + x) / 36) /
      3;
    expect(closedForm).toBeCloseTo(0.3578703, 6);
    expect((await out.loss.data())[0]).toBeCloseTo(0.3578703, 5);
    const r = Array.from(await out.rewards.data());
    r.forEach((x, i) => expect(x).toBeCloseTo(rewards[i], 4));
    const h = Array.from(await out.diffs.data());
    expect(h).toHaveLength(1 + 6 + 36);
    expect(h[0]).toBeCloseTo(ln3, 4);
    h.slice(1, 7).forEach((x) => expect(x).toBeCloseTo(0, 5));
    // ranking C's pairs in rankingPairs order (positions i < j): h = (j - i) ln 3
    const gaps = Array.from({ length: 9 }, (_, i) => Array.from({ length: 8 - i }, (_, k) => k + 1)).flat();
    h.slice(7).forEach((x, p) => expect(x).toBeCloseTo(gaps[p] * ln3, 3));
  });

  it('has the hand-derived gradient in log pi', async () => {
    const { logps, refLogps, pairs, weights } = inputs();
    const grad = tf.grad((lp: tf.Tensor) => dpoLoss(lp as tf.Tensor1D, refLogps, pairs, weights, beta).loss)(logps);
    const got = Array.from(await grad.data());
    const want = expectedGradient();
    expect(want[1]).toBeCloseTo(-1 / 120, 9); // A's winner is completion 1
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 6));
    // every ranking's gradients sum to 0: what the winner gains the loser loses
    expect(got.slice(0, 2).reduce((s, x) => s + x)).toBeCloseTo(0, 7);
    expect(got.slice(2, 6).reduce((s, x) => s + x)).toBeCloseTo(0, 7);
    expect(got.slice(6).reduce((s, x) => s + x)).toBeCloseTo(0, 7);
  });

  it('a flipped preference or a reference equal to the policy gives a different loss', async () => {
    const { logps, refLogps, pairs, weights } = inputs();
    const flipped = dpoLoss(logps, refLogps, tf.neg(pairs) as tf.Tensor2D, weights, beta);
    const noReference = dpoLoss(logps, logps, pairs, weights, beta);
    expect((await noReference.loss.data())[0]).toBeCloseTo(Math.log(2), 5); // every h = 0
    expect((await flipped.loss.data())[0]).toBeGreaterThan(1);
  });
});

describe('dpoLoss with label smoothing (conservative DPO)', () => {
  it('mixes the two directions: (1 - eps) ln(1 + e^-h) + eps ln(1 + e^h), with its gradient', async () => {
    // K = 2 alone, h = ln 3, eps = 0.2: loss = 0.8 ln(4/3) + 0.2 ln 4 = 0.5074045;
    // d loss / d log pi(y_w) = beta [ -(1 - eps) sigmoid(-h) + eps sigmoid(h) ] = 0.1 (-0.8/4 + 0.2 * 3/4) = -0.005
    const pm = pairMatrix([[0, 1]]);
    const pairs = tf.tensor2d(pm.matrix, [1, 2]);
    const weights = tf.tensor1d(pm.weights);
    const ref = tf.tensor1d([-4, -4]);
    const lp = tf.tensor1d([-4 + ln3 / beta, -4]);
    const loss = dpoLoss(lp, ref, pairs, weights, beta, 0.2).loss;
    expect((await loss.data())[0]).toBeCloseTo(0.5074045, 5);
    const grad = tf.grad((x: tf.Tensor) => dpoLoss(x as tf.Tensor1D, ref, pairs, weights, beta, 0.2).loss)(lp);
    const [gw, gl] = Array.from(await grad.data());
    expect(gw).toBeCloseTo(-0.005, 7);
    expect(gl).toBeCloseTo(0.005, 7);
  });
});
