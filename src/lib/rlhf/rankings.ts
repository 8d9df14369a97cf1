/**
 * K-way rankings for the reward model (InstructGPT stage 2): validation, their pairs and the pair
 * matrix that Eq. 1 reads (the loss itself is in losses.ts), metrics, and import/export as JSONL
 * (ours, and TRL's prompt/chosen/rejected pairs). No tfjs here: the main thread validates with it.
 *
 * A ranking of K completions gives every one of its C(K,2) = K(K-1)/2 pairs as a
 * comparison, and all pairs of one prompt are used together (not shuffled apart).
 */
import { fnv1a } from '../data/hash';

/** K, the completions in one ranking: the paper's labelers ranked 4 to 9; 2 is a plain comparison. */
export const MIN_COMPLETIONS = 2;
export const MAX_COMPLETIONS = 9;

/** Why k cannot be the number of completions to rank, or null. */
export function kError(k: number): string | null {
  return Number.isInteger(k) && k >= MIN_COMPLETIONS && k <= MAX_COMPLETIONS
    ? null
    : `K must be a whole number from ${MIN_COMPLETIONS} to ${MAX_COMPLETIONS}.`;
}

export type RankingSource = 'user' | 'labeler' | 'import';
const SOURCES: readonly RankingSource[] = ['user', 'labeler', 'import'];

export interface Ranking {
  id: string;
  prompt: string;
  completions: string[];
  /** completion indices, best first: a permutation of 0..K-1 */
  order: number[];
  /** ms since the epoch */
  createdAt: number;
  source: RankingSource;
  labelerId?: string;
}

export interface RankedPair {
  winner: number;
  loser: number;
}

export interface PreferencePair {
  prompt: string;
  chosen: string;
  rejected: string;
}

// ---------------------------------------------------------------------------
// validation

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Throws unless `order` is a permutation of 0..k-1. */
function assertPermutation(order: unknown, k: number): asserts order is number[] {
  if (!Array.isArray(order)) throw new Error('ranking.order must be an array of completion indices');
  if (order.length !== k) {
    throw new Error(`ranking.order has ${order.length} entries but there are ${k} completions`);
  }
  const seen = new Set<number>();
  for (const i of order) {
    if (!Number.isInteger(i) || i < 0 || i >= k) {
      throw new Error(`ranking.order entry ${JSON.stringify(i)} is not an index in 0..${k - 1}`);
    }
    if (seen.has(i)) throw new Error(`ranking.order lists completion ${i} twice`);
    seen.add(i);
  }
}

/** Checks an untrusted value and returns a clean Ranking (unknown fields dropped). */
export function validateRanking(r: unknown): Ranking {
  if (!isRecord(r)) throw new Error('ranking must be an object');
  const { id, prompt, completions, order, createdAt, source, labelerId } = r;
  if (typeof id !== 'string' || id.length === 0) throw new Error('ranking.id must be a non-empty string');
  if (typeof prompt !== 'string') throw new Error('ranking.prompt must be a string');
  if (!Array.isArray(completions) || !completions.every((c) => typeof c === 'string')) {
    throw new Error('ranking.completions must be an array of strings');
  }
  const k = completions.length;
  if (k < MIN_COMPLETIONS || k > MAX_COMPLETIONS) {
    throw new Error(`ranking needs ${MIN_COMPLETIONS}..${MAX_COMPLETIONS} completions, got ${k}`);
  }
  assertPermutation(order, k);
  if (typeof createdAt !== 'number' || !Number.isFinite(createdAt)) {
    throw new Error('ranking.createdAt must be a finite number (ms since the epoch)');
  }
  if (typeof source !== 'string' || !SOURCES.includes(source as RankingSource)) {
    throw new Error(`ranking.source must be one of ${SOURCES.join(', ')}`);
  }
  if (labelerId !== undefined && typeof labelerId !== 'string') {
    throw new Error('ranking.labelerId must be a string when present');
  }
  const ranking: Ranking = {
    id,
    prompt,
    completions: [...(completions as string[])],
    order: [...order],
    createdAt,
    source: source as RankingSource,
  };
  if (labelerId !== undefined) ranking.labelerId = labelerId;
  return ranking;
}

/**
 * A ranked task as a clean Ranking: the task's id, prompt and completions with the person's order, best first.
 * Pure, so the ranking panel builds and stores it itself (a submit never waits for a busy engine) and the engine
 * checks the same record again.
 */
export function rankingOfTask(
  task: { id: string; prompt: string; completions: readonly string[] },
  order: readonly number[],
  source: RankingSource,
  labelerId?: string,
): Ranking {
  if (order.length !== task.completions.length) throw new Error(`The order must rank all ${task.completions.length} completions.`);
  return validateRanking({
    id: task.id,
    prompt: task.prompt,
    completions: [...task.completions],
    order: [...order],
    createdAt: Date.now(),
    source,
    labelerId,
  });
}

// ---------------------------------------------------------------------------
// pairs and the ranking loss

/** All C(K,2) pairs of a best-first order: order[i] beats order[j] for every i < j. */
export function rankingPairs(order: number[]): RankedPair[] {
  assertPermutation(order, order.length);
  const pairs: RankedPair[] = [];
  for (let i = 0; i < order.length; i++) {
    for (let j = i + 1; j < order.length; j++) pairs.push({ winner: order[i], loser: order[j] });
  }
  return pairs;
}

const choose2 = (k: number) => (k * (k - 1)) / 2;

export interface PairMatrix {
  /** [pairRows, rows] row-major: +1 at the winner's row, -1 at the loser's, so M · r = r_w - r_l. */
  matrix: Float32Array;
  /** [pairRows]: 1 / (rankings * C(K_i, 2)), 0 for padding pairs. */
  weights: Float32Array;
  rows: number;
  pairRows: number;
}

/**
 * The pairs of several rankings as one matrix, so that sum_p w_p * loss_p is the mean over rankings of
 * each ranking's mean pair loss (Eq. 1). Ranking i's completions start at row firstRow(i) and its pairs
 * at pair row firstPair(i); by default the rankings sit one after another with no padding.
 */
export function pairMatrix(
  orders: number[][],
  layout: { rows: number; pairRows: number; firstRow: (i: number) => number; firstPair: (i: number) => number } = consecutive(orders),
): PairMatrix {
  const { rows, pairRows } = layout;
  const matrix = new Float32Array(pairRows * rows);
  const weights = new Float32Array(pairRows);
  orders.forEach((order, i) => {
    const pairs = rankingPairs(order);
    if (pairs.length === 0) throw new Error('a ranking needs at least 2 completions');
    pairs.forEach(({ winner, loser }, j) => {
      const p = layout.firstPair(i) + j;
      matrix[p * rows + layout.firstRow(i) + winner] = 1;
      matrix[p * rows + layout.firstRow(i) + loser] = -1;
      weights[p] = 1 / (orders.length * pairs.length);
    });
  });
  return { matrix, weights, rows, pairRows };
}

function consecutive(orders: number[][]) {
  const rowStarts = [0];
  const pairStarts = [0];
  for (const o of orders) {
    rowStarts.push(rowStarts.at(-1)! + o.length);
    pairStarts.push(pairStarts.at(-1)! + choose2(o.length));
  }
  return {
    rows: rowStarts.at(-1)!,
    pairRows: pairStarts.at(-1)!,
    firstRow: (i: number) => rowStarts[i],
    firstPair: (i: number) => pairStarts[i],
  };
}

/**
 * Pair accuracy and margin: correct = #pairs with r_w > r_l strictly, margin = r_w - r_l; pairs for which `skip` is
 * true are left out (e.g. pairs tied in a labeler's gold score, when `order` is the gold order).
 */
export function pairMetrics(
  rewards: number[],
  order: number[],
  skip?: (winner: number, loser: number) => boolean,
): { correct: number; pairs: number; marginSum: number } {
  let correct = 0;
  let marginSum = 0;
  const pairs = rankingPairs(order).filter(({ winner, loser }) => !skip?.(winner, loser));
  for (const { winner, loser } of pairs) {
    const margin = rewards[winner] - rewards[loser];
    if (margin > 0) correct++;
    marginSum += margin;
  }
  return { correct, pairs: pairs.length, marginSum };
}

// ---------------------------------------------------------------------------
// JSONL export / import

/** TRL preference format: one {prompt, chosen, rejected} per pair of the ranking. */
export function toPreferencePairs(r: Ranking): PreferencePair[] {
  return rankingPairs(r.order).map(({ winner, loser }) => ({
    prompt: r.prompt,
    chosen: r.completions[winner],
    rejected: r.completions[loser],
  }));
}

function toJsonl(items: unknown[]): string {
  return items.map((item) => JSON.stringify(item) + '\n').join('');
}

/** Our full-ranking JSONL: one Ranking a line. */
export function rankingsToJsonl(rs: Ranking[]): string {
  return toJsonl(rs);
}

/** TRL pair JSONL: K(K-1)/2 lines per ranking. */
export function preferencePairsToJsonl(rs: Ranking[]): string {
  return toJsonl(rs.flatMap(toPreferencePairs));
}

function isPreferencePair(x: Record<string, unknown>): x is Record<string, unknown> & PreferencePair {
  return typeof x.prompt === 'string' && typeof x.chosen === 'string' && typeof x.rejected === 'string';
}

/** A TRL pair as a K = 2 ranking: completions [chosen, rejected], order [0, 1]. */
function pairToRanking(pair: PreferencePair, now: number): Ranking {
  // the same pair always gets the same id, so importing a file twice adds nothing
  const id =
    'trl-' +
    fnv1a(JSON.stringify([pair.prompt, pair.chosen, pair.rejected]))
      .toString(16)
      .padStart(8, '0');
  return { id, prompt: pair.prompt, completions: [pair.chosen, pair.rejected], order: [0, 1], createdAt: now, source: 'import' };
}

function parseLine(line: string, now: number): Ranking {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new Error('not JSON');
  }
  if (!isRecord(value)) throw new Error('not a JSON object');
  if ('completions' in value || 'order' in value) return validateRanking(value);
  if (isPreferencePair(value)) return pairToRanking(value, now);
  throw new Error('neither a ranking (id, prompt, completions, order, ...) nor a pair with string prompt, chosen, rejected');
}

/**
 * Reads our ranking JSONL or TRL pair JSONL (the two may be mixed line by line).
 * Blank lines are skipped; a bad line gives "line N: why" (1-based). Never throws.
 * `now` stamps createdAt on imported pairs.
 */
export function parseRankingsFile(text: string, now: number = Date.now()): { rankings: Ranking[]; errors: string[] } {
  const rankings: Ranking[] = [];
  const errors: string[] = [];
  if (typeof text !== 'string') return { rankings, errors: ['file is not text'] };
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line.length === 0) return;
    try {
      rankings.push(parseLine(line, now));
    } catch (e) {
      errors.push(`line ${i + 1}: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
  return { rankings, errors };
}
