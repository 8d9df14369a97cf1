/**
 * Prompt + response token lists packed into fixed-shape rows, the one layout that SFT, the
 * reward model and PPO share. For rows of `time` positions:
 *
 *   ids[t]        prompt tokens, then response tokens, then eos padding
 *   targets[t]    ids[t + 1]: what position t predicts (the last column is padding, never counted)
 *   targetMask[t] 1 where targets[t] is a response token, i.e. where the policy acted
 *   lastIndex     position in ids of the last response token (the eos where the response ended):
 *                 the reward model reads its hidden state there, and the score lands on
 *                 column lastIndex - 1 of the per-token rewards (the step that wrote that token)
 *
 * Truncation rule (when a pair does not fit): the prompt keeps its LAST min(length, maxPromptTokens)
 * tokens (cut from the left, so "Response:" stays next to the response), then the response keeps its
 * FIRST time - promptKept tokens (cut from the right; a cut response loses its eos, like a rollout
 * that ran out of tokens).
 */
import * as tf from '@tensorflow/tfjs';
import type { Tokenizer } from '../data/tokenizer';

export interface TokenPair {
  prompt: number[];
  response: number[];
}

export interface SequenceRows {
  rows: number;
  time: number;
  ids: Int32Array; // [rows * time]
  targets: Int32Array; // [rows * time]
  targetMask: Float32Array; // [rows * time]
  lastIndex: Int32Array; // [rows]
  promptLength: Int32Array; // [rows] prompt tokens kept
  responseLength: Int32Array; // [rows] response tokens kept
}

export interface SequenceTensors {
  ids: tf.Tensor2D; // int32 [N, T]
  targets: tf.Tensor2D; // int32 [N, T]
  targetMask: tf.Tensor2D; // float32 [N, T]
  lastIndex: tf.Tensor1D; // int32 [N]
}

/** Prompt and response tokens of a text pair; `endWithEos` appends the end-of-text token to the response. */
export function encodePair(tokenizer: Tokenizer, prompt: string, response: string, endWithEos = true): TokenPair {
  const responseTokens = tokenizer.encode(response);
  if (endWithEos) responseTokens.push(tokenizer.eosId);
  return { prompt: tokenizer.encode(prompt), response: responseTokens };
}

/**
 * The truncation rule above: how many prompt and response tokens of a pair fit in `time` positions. A pair that fits
 * is kept whole; by default the prompt gives way to the response down to half the row (a closed-domain prompt's story
 * is its start, so it keeps all it can).
 */
export function fitPair(
  pair: TokenPair,
  time: number,
  maxPromptTokens = Math.max(Math.floor(time / 2), time - pair.response.length),
): { promptKept: number; responseKept: number } {
  if (pair.prompt.length === 0) throw new Error('a prompt needs at least one token');
  if (pair.response.length === 0) throw new Error('a response needs at least one token (the eos, for an empty one)');
  const promptKept = Math.min(pair.prompt.length, Math.max(1, maxPromptTokens), time - 1);
  return { promptKept, responseKept: Math.min(pair.response.length, time - promptKept) };
}

/**
 * Packs pairs into `rows` rows of `time` positions (rows >= pairs.length; extra rows are
 * dummies: all eos, no response tokens, lastIndex 0).
 */
export function packSequences(
  pairs: TokenPair[],
  time: number,
  eosId: number,
  rows = pairs.length,
  maxPromptTokens?: number,
): SequenceRows {
  if (pairs.length > rows) throw new Error(`${pairs.length} sequences do not fit in ${rows} rows`);
  const out: SequenceRows = {
    rows,
    time,
    ids: new Int32Array(rows * time).fill(eosId),
    targets: new Int32Array(rows * time).fill(eosId),
    targetMask: new Float32Array(rows * time),
    lastIndex: new Int32Array(rows),
    promptLength: new Int32Array(rows),
    responseLength: new Int32Array(rows),
  };
  pairs.forEach((pair, row) => {
    const { promptKept, responseKept } = fitPair(pair, time, maxPromptTokens);
    const tokens = [...pair.prompt.slice(pair.prompt.length - promptKept), ...pair.response.slice(0, responseKept)];
    const base = row * time;
    out.ids.set(tokens, base);
    out.targets.set(tokens.slice(1), base);
    for (let t = promptKept - 1; t < promptKept + responseKept - 1; t++) out.targetMask[base + t] = 1;
    out.lastIndex[row] = promptKept + responseKept - 1;
    out.promptLength[row] = promptKept;
    out.responseLength[row] = responseKept;
  });
  return out;
}

export function sequenceTensors(seq: SequenceRows): SequenceTensors {
  const shape: [number, number] = [seq.rows, seq.time];
  return {
    ids: tf.tensor2d(seq.ids, shape, 'int32'),
    targets: tf.tensor2d(seq.targets, shape, 'int32'),
    targetMask: tf.tensor2d(seq.targetMask, shape, 'float32'),
    lastIndex: tf.tensor1d(seq.lastIndex, 'int32'),
  };
}

/** Rows [from, to) of a batch (for a step in parts). */
export function batchRows(batch: SequenceTensors, from: number, to: number): SequenceTensors {
  const rows = <T extends tf.Tensor>(x: T) => tf.slice(x, [from, ...x.shape.slice(1).map(() => 0)], [to - from, ...x.shape.slice(1)]) as T;
  return { ids: rows(batch.ids), targets: rows(batch.targets), targetMask: rows(batch.targetMask), lastIndex: rows(batch.lastIndex) };
}

export function disposeSequenceTensors(t: SequenceTensors): void {
  tf.dispose([t.ids, t.targets, t.targetMask, t.lastIndex]);
}

/** Items i, i+1, ... of `items` for a fixed-size batch; a short batch is filled by repeating items from the start. */
export function fixedBatch<T>(items: readonly T[], start: number, size: number): T[] {
  if (items.length === 0) throw new Error('no items to batch');
  return Array.from({ length: size }, (_, i) => items[(start + i) % items.length]);
}
