/**
 * Rankings as the trainers that learn from them hold them (the reward model, Eq. 1; DPO): encoded to tokens, split
 * into training and held-out by id (the same ranking always lands on the same side), ids seen before skipped, and
 * packed into the fixed-shape ranking batch with the pair matrix that Eq. 1 reads. Unless fixed, the batch shape
 * (positions, rows per ranking) grows to the longest pair and largest K seen: padding every ranking to 9 rows of the
 * whole context cost 2-4x on wasm for K = 4 and short answers (a new shape compiles new WebGPU kernels once).
 */
import { hashFraction } from '../data/hash';
import type { Tokenizer } from '../data/tokenizer';
import { float, int } from '../settings';
import type { Metrics } from '../train/loop';
import { MAX_COMPLETIONS, pairMatrix, pairMetrics, type Ranking } from './rankings';
import { encodePair, packSequences, type SequenceRows, type TokenPair } from './sequences';
import { clusteredWilson, wilsonInterval } from './stats';

/** The settings of every trainer on rankings (the reward model, DPO): one spec each. */
export const RANKINGS_PER_BATCH = int(
  'rankings_per_batch',
  'Rankings per batch',
  4,
  1,
  64,
  'Rankings per step; all K(K-1)/2 pairs of a ranking go in the same batch (Eq. 1).',
);
export const HELD_OUT_SHARE = float(
  'held_out_share',
  'Held-out share',
  0.2,
  0,
  0.9,
  'Share of rankings kept aside to measure pair accuracy.',
);

export interface EncodedRanking {
  id: string;
  pairs: TokenPair[]; // prompt + completion + eos, one per completion
  order: number[];
}

export interface RankingBatch {
  sequences: SequenceRows;
  pairMatrix: Float32Array; // [P, N]: +1 at the winner's row, -1 at the loser's
  pairWeights: Float32Array; // [P]: 1 / (rankings * C(K, 2)), 0 for padding pairs
}

/** The same ranking always lands on the same side of the split. */
export function isHeldOut(id: string, heldOutShare: number): boolean {
  return hashFraction(id) < heldOutShare;
}

export const choose2 = (k: number) => (k * (k - 1)) / 2;

/**
 * Fixed-shape batch of up to `slots` rankings: ranking i's completions in rows i*maxK .. i*maxK+K-1,
 * its pairs in pair rows i*C(maxK,2) ...; padding rows hold a dummy pair and padding pairs weigh 0.
 */
export function rankingBatch(rankings: EncodedRanking[], slots: number, maxK: number, time: number, eosId: number): RankingBatch {
  const rows = slots * maxK;
  const layout = { rows, pairRows: slots * choose2(maxK), firstRow: (i: number) => i * maxK, firstPair: (i: number) => i * choose2(maxK) };
  const pairs = pairMatrix(
    rankings.map((r) => r.order),
    layout,
  );
  const dummy: TokenPair = { prompt: [eosId], response: [eosId] };
  const placed: TokenPair[] = [];
  rankings.forEach((r, slot) => {
    for (let k = 0; k < maxK; k++) placed[slot * maxK + k] = r.pairs[k] ?? dummy;
  });
  for (let row = 0; row < rows; row++) placed[row] ??= dummy;
  const sequences = packSequences(placed, time, eosId, rows);
  for (let row = 0; row < rows; row++) if (placed[row] === dummy) sequences.lastIndex[row] = 0;
  return { sequences, pairMatrix: pairs.matrix, pairWeights: pairs.weights };
}

export interface RankingShapeOptions {
  /** Rows reserved per ranking: the largest K accepted (default: grown to the largest K seen, at most 9). */
  maxCompletions?: number;
  /** Positions per sequence (default: grown to the longest pair seen, at most the model's context). */
  time?: number;
}

export class RankingSet {
  readonly train: EncodedRanking[] = [];
  readonly heldOut: EncodedRanking[] = [];
  /** Training rankings added since the trainer last took them (takeFresh). */
  private fresh: EncodedRanking[] = [];
  private readonly known = new Set<string>();
  /** Positions per sequence and rows per ranking: fixed by the options, else grown to the longest pair and largest K seen. */
  time: number;
  maxCompletions: number;
  private readonly fixedShape: boolean;

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly blockSize: number,
    private readonly heldOutShare: number,
    options: RankingShapeOptions = {},
  ) {
    this.fixedShape = options.maxCompletions !== undefined || options.time !== undefined;
    this.maxCompletions = options.maxCompletions ?? (this.fixedShape ? MAX_COMPLETIONS : 2);
    this.time = Math.min(options.time ?? (this.fixedShape ? blockSize : 8), blockSize);
  }

  get counts(): { train: number; heldOut: number } {
    return { train: this.train.length, heldOut: this.heldOut.length };
  }

  /** Unless the shape is fixed: room for this pair (positions rounded up to 8) and for k rows per ranking. */
  growTo(pair: TokenPair, k: number): void {
    if (this.fixedShape) return;
    const length = Math.ceil((pair.prompt.length + pair.response.length) / 8) * 8;
    this.time = Math.min(Math.max(this.time, length), this.blockSize);
    this.maxCompletions = Math.min(Math.max(this.maxCompletions, k), MAX_COMPLETIONS);
  }

  private encode(r: Ranking): EncodedRanking {
    if (!this.fixedShape) r.completions.forEach((c) => this.growTo(encodePair(this.tokenizer, r.prompt, c, true), r.completions.length));
    if (r.completions.length > this.maxCompletions) {
      throw new Error(`a ranking of ${r.completions.length} completions does not fit this stage (at most ${this.maxCompletions})`);
    }
    return { id: r.id, pairs: r.completions.map((c) => encodePair(this.tokenizer, r.prompt, c, true)), order: r.order };
  }

  /** New rankings (ids seen before are skipped), each to its side of the split; returns how many joined training. */
  add(rankings: Ranking[]): number {
    const before = this.train.length;
    for (const r of rankings) {
      if (this.known.has(r.id)) continue;
      this.known.add(r.id);
      const encoded = this.encode(r);
      if (isHeldOut(r.id, this.heldOutShare)) this.heldOut.push(encoded);
      else {
        this.train.push(encoded);
        this.fresh.push(encoded);
      }
    }
    return this.train.length - before;
  }

  /** The training rankings added since the last call, in the order they came. */
  takeFresh(): EncodedRanking[] {
    const fresh = this.fresh;
    this.fresh = [];
    return fresh;
  }

  /** The training rankings added since the last takeFresh, still kept (the live list: it grows as rankings come). */
  peekFresh(): readonly EncodedRanking[] {
    return this.fresh;
  }

  /** The ranking batch of `rankings` in `slots` slots, at the set's shape. */
  batch(rankings: EncodedRanking[], slots: number): RankingBatch {
    return rankingBatch(rankings, slots, this.maxCompletions, this.time, this.tokenizer.eosId);
  }
}

/**
 * Held-out pair accuracy of `scores` (one per completion of each ranking, in order; a reward model's r or DPO's implicit
 * reward) with the pairs and rankings it rests on, the margin (mean r_w - r_l), the mean and spread of the scores, and a
 * 95 % interval. The pairs of one ranking are correlated (they share its K completions), so pair_accuracy_low/high is a
 * Wilson interval at the effective number of pairs, pairs / design effect, the design effect estimated from how much
 * the per-ranking accuracies spread (clusteredWilson in stats.ts; it is never below 1). pair_accuracy_naive_low/high
 * treat every pair as an independent trial: narrower, and too optimistic when rankings are right or wrong as a whole.
 * Verdict: isIndistinguishableFromChance({ low, high }).
 */
export function heldOutFigures(rankings: readonly EncodedRanking[], scores: number[]): Metrics {
  let marginSum = 0;
  let offset = 0;
  const clusters: { correct: number; pairs: number }[] = [];
  for (const r of rankings) {
    const m = pairMetrics(scores.slice(offset, offset + r.pairs.length), r.order);
    clusters.push({ correct: m.correct, pairs: m.pairs });
    marginSum += m.marginSum;
    offset += r.pairs.length;
  }
  const acc = clusteredWilson(clusters);
  const naive = wilsonInterval(acc.share * acc.n, acc.n);
  const mean = scores.reduce((s, x) => s + x, 0) / scores.length;
  const std = Math.sqrt(scores.reduce((s, x) => s + (x - mean) ** 2, 0) / scores.length);
  return {
    pair_accuracy: acc.share,
    margin: marginSum / acc.n,
    reward_mean: mean,
    reward_std: std,
    pairs: acc.n,
    rankings: acc.clusters,
    pairs_effective: acc.effectiveN,
    pair_accuracy_low: acc.low,
    pair_accuracy_high: acc.high,
    pair_accuracy_naive_low: naive.low,
    pair_accuracy_naive_high: naive.high,
  };
}
