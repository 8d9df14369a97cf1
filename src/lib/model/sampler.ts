/**
 * Batched sampling with temperature and top-k. All rows advance one position per step in lockstep:
 * a row still inside its prompt is fed its prompt token, a row past it is fed the sampled one.
 * The cached decoder pays one position per step; the full decoder re-runs the whole context
 * (kept as the baseline that the benchmark compares against). Sampling lets the event loop in every BREATHE_MS
 * and between parts of the prompts' reading (on wasm every kernel holds the thread, and a sampling is seconds of them).
 */
import * as tf from '@tensorflow/tfjs';
import type { GPT, KvCache } from './gpt';
import { MASKED } from './layers';
import { onWebGpu } from './kernels/program';
import { sampleTokenFused } from './kernels/decode';
import { breather, PART_MS } from '../train/breather';
import { PartSizer } from '../train/parts';

export interface SampleOptions {
  maxNewTokens: number;
  temperature: number; // 0 = greedy
  topK: number; // 0 = no top-k cut
  seed: number;
  eosId: number;
  /**
   * Progress: called after each sampled position with (response tokens written, response tokens planned), per
   * response (responseProgress); a promise it returns is awaited, and an error it throws stops the sampling (its
   * tensors are freed).
   */
  onToken?: (done: number, total: number) => void | Promise<void>;
  /**
   * Sizes the parts of rows in which the prompts are read (the whole context of every row, seconds for 16 rows on
   * wasm), with the event loop let in between: a PartSizer of train/parts.ts (default: a fresh one of PART_MS, but
   * on webgpu none).
   */
  prefillParts?: { next(remaining: number): number; record(rows: number, ms: number): void };
}

/**
 * Progress in response tokens once position `t` is sampled. Rows write from the ends of their prompts, so a batch of
 * unequal prompts runs more positions than any response has tokens: done is the tokens written per response so far
 * (the mean over rows, rounded up), total the tokens each may write (maxNewTokens, fewer where the context ends).
 */
export function responseProgress(t: number, lengths: number[], maxNewTokens: number, end: number): { done: number; total: number } {
  let written = 0;
  let room = 0;
  for (const len of lengths) {
    const cap = Math.min(maxNewTokens, end - len);
    room += cap;
    written += Math.min(cap, Math.max(0, t + 1 - len));
  }
  return { done: Math.ceil(written / lengths.length), total: Math.ceil(room / lengths.length) };
}

/** Thrown from onToken to stop a sampling early; stoppable() turns it into null. */
export class SamplingStopped extends Error {}

/** The sampling's result, or null when onToken stopped it with SamplingStopped (other errors pass through). */
export function stoppable<T>(sampling: Promise<T>): Promise<T | null> {
  return sampling.catch((err) => {
    if (err instanceof SamplingStopped) return null;
    throw err;
  });
}

export interface SampleResult {
  /** Completion tokens per row; a completion that ended includes its end-of-text token. */
  completions: number[][];
  /** Whether each row emitted the end-of-text token within maxNewTokens. */
  finished: boolean[];
}

/** Next-token logits provider: logits at position `start - 1`, then after feeding each token. */
interface Decoder {
  first(parts?: SampleOptions['prefillParts']): Promise<tf.Tensor2D>;
  next(tokens: tf.Tensor1D, position: number): tf.Tensor2D;
  dispose(): void;
}

/** Draw one token per row from logits [B, V]: Gumbel-max (tf.multinomial is broken on webgpu, tfjs #8057). */
export function sampleToken(logits: tf.Tensor2D, temperature: number, topK: number, seed: number): tf.Tensor1D {
  return tf.tidy(() => {
    if (temperature <= 0) return tf.argMax(logits, -1) as tf.Tensor1D;
    const [batch, vocabSize] = logits.shape;
    let scaled: tf.Tensor2D = tf.div(logits, temperature);
    if (topK > 0 && topK < vocabSize) {
      const kth = tf.slice(tf.topk(scaled, topK).values, [0, topK - 1], [batch, 1]);
      scaled = tf.add(scaled, tf.mul(tf.cast(tf.less(scaled, kth), 'float32'), MASKED));
    }
    const uniform = tf.randomUniform([batch, vocabSize], 1e-7, 1 - 1e-7, 'float32', seed);
    const gumbel = tf.neg(tf.log(tf.neg(tf.log(uniform))));
    return tf.argMax(tf.add(scaled, gumbel), -1) as tf.Tensor1D;
  });
}

function stepSeed(seed: number, position: number): number {
  return (Math.imul(seed ^ 0x5bd1e995, 2654435761) + Math.imul(position + 1, 40503)) >>> 1;
}

function cachedDecoder(model: GPT, ids: tf.Tensor2D, start: number): Decoder {
  let cache: KvCache = { keys: [], values: [] };
  const disposeCache = () => [...cache.keys, ...cache.values].forEach((t) => t.dispose());
  return {
    first: async (parts) => {
      const [batch] = ids.shape;
      const prefill = (rows: tf.Tensor2D) =>
        tf.tidy(() => {
          const kv: KvCache = { keys: [], values: [] };
          const h = model.hidden(rows, kv);
          const n = rows.shape[0];
          const last = tf.reshape(tf.slice(h, [0, start - 1, 0], [n, 1, model.config.nEmbd]), [n, model.config.nEmbd]);
          return { logits: model.head(last as tf.Tensor2D), keys: kv.keys, values: kv.values };
        });
      if (!parts) {
        const result = prefill(ids);
        cache = { keys: result.keys, values: result.values };
        return result.logits;
      }
      const done: ReturnType<typeof prefill>[] = [];
      for (let from = 0; from < batch;) {
        const to = from + parts.next(batch - from);
        const started = performance.now();
        done.push(tf.tidy(() => prefill(tf.slice(ids, [from, 0], [to - from, -1]))));
        parts.record(to - from, performance.now() - started);
        from = to;
        if (from < batch) await new Promise((resolve) => setTimeout(resolve, 0));
      }
      const join = (pick: (d: (typeof done)[number]) => tf.Tensor4D[]) =>
        pick(done[0]).map((_, layer) => tf.concat(done.map((d) => pick(d)[layer])) as tf.Tensor4D);
      cache = { keys: join((d) => d.keys), values: join((d) => d.values) };
      const logits = tf.concat(done.map((d) => d.logits)) as tf.Tensor2D;
      done.forEach((d) => tf.dispose([d.logits, ...d.keys, ...d.values]));
      return logits;
    },
    next: (tokens, position) => {
      const step = tf.tidy(() => {
        const r = model.decodeStep(tokens, position, cache);
        return { logits: r.logits, keys: r.cache.keys, values: r.cache.values };
      });
      disposeCache();
      cache = { keys: step.keys, values: step.values };
      return step.logits;
    },
    dispose: disposeCache,
  };
}

function fullDecoder(model: GPT, ids: tf.Tensor2D, start: number): Decoder {
  let current = tf.clone(ids);
  const logitsAt = (position: number) =>
    tf.tidy(() => {
      const [batch] = current.shape;
      const h = model.hidden(current);
      const row = tf.reshape(tf.slice(h, [0, position, 0], [batch, 1, model.config.nEmbd]), [batch, model.config.nEmbd]);
      return model.head(row as tf.Tensor2D);
    });
  return {
    first: async () => logitsAt(start - 1),
    next: (tokens, position) => {
      const updated = tf.tidy(() => {
        const at = tf.oneHot([position], current.shape[1], 1, 0, 'int32');
        const keep = tf.sub(tf.scalar(1, 'int32'), at);
        return tf.add(tf.mul(current, keep), tf.mul(tf.reshape(tokens, [-1, 1]), at)) as tf.Tensor2D;
      });
      current.dispose();
      current = updated;
      return logitsAt(position);
    },
    dispose: () => current.dispose(),
  };
}

export async function sample(model: GPT, prompts: number[][], opts: SampleOptions, cached = true): Promise<SampleResult> {
  const { blockSize } = model.config;
  const lengths = prompts.map((p) => p.length);
  if (lengths.some((n) => n < 1 || n >= blockSize)) {
    throw new Error(`every prompt needs 1 to ${blockSize - 1} tokens (the context is ${blockSize})`);
  }
  const batch = prompts.length;
  const start = Math.min(...lengths);
  const end = Math.min(blockSize, Math.max(...lengths.map((n) => n + opts.maxNewTokens)));
  const padded = new Int32Array(batch * blockSize).fill(opts.eosId);
  const inPrompt = new Int32Array(batch * blockSize);
  prompts.forEach((p, b) => p.forEach((tok, t) => ((padded[b * blockSize + t] = tok), (inPrompt[b * blockSize + t] = 1))));
  const ids = tf.tensor2d(padded, [batch, blockSize], 'int32');
  const promptMask = tf.tensor2d(inPrompt, [batch, blockSize], 'int32');
  const decoder = (cached ? cachedDecoder : fullDecoder)(model, ids, start);
  const fed: tf.Tensor1D[] = [];
  const finished = new Array<boolean>(batch).fill(false);
  const breathe = breather();
  try {
    // on webgpu the kernels run off the thread: one whole prefill holds it no longer than parts would
    let logits = await decoder.first(opts.prefillParts ?? (onWebGpu() ? undefined : new PartSizer(PART_MS)));
    for (let t = start; t < end; t++) {
      // On webgpu (no top-k) one kernel draws, with its own noise (a hash of the seed): no upload of random numbers.
      const onGpu = onWebGpu() && !(opts.topK > 0 && opts.topK < model.config.vocabSize);
      const tokens = onGpu
        ? sampleTokenFused(logits, ids, promptMask, t, stepSeed(opts.seed, t), opts.temperature)
        : tf.tidy(() => {
            const drawn = sampleToken(logits, opts.temperature, opts.topK, stepSeed(opts.seed, t));
            const forced = tf.reshape(tf.slice(ids, [0, t], [batch, 1]), [batch]);
            const isPrompt = tf.cast(tf.reshape(tf.slice(promptMask, [0, t], [batch, 1]), [batch]), 'bool');
            return tf.where(isPrompt, forced, drawn) as tf.Tensor1D;
          });
      fed.push(tokens);
      logits.dispose();
      if (opts.onToken) {
        const progress = responseProgress(t, lengths, opts.maxNewTokens, end);
        await opts.onToken(progress.done, progress.total); // may throw to stop: nothing is left undisposed here
      }
      await breathe();
      if (t === end - 1) break;
      logits = decoder.next(tokens, t);
      if ((t - start) % 8 === 7 && (await allFinished(fed, start, lengths, opts, finished))) {
        logits.dispose();
        break;
      }
    }
    const matrix = tf.stack(fed, 1);
    const all = await matrix.data();
    matrix.dispose();
    return assemble(all, fed.length, start, lengths, opts);
  } finally {
    fed.forEach((t) => t.dispose());
    decoder.dispose();
    ids.dispose();
    promptMask.dispose();
  }
}

/** Reads back the tokens so far (one sync every 8 steps) to stop once every row has ended or run out of budget. */
async function allFinished(
  fed: tf.Tensor1D[],
  start: number,
  lengths: number[],
  opts: SampleOptions,
  finished: boolean[],
): Promise<boolean> {
  const recent = fed.slice(-8);
  const matrix = tf.stack(recent, 1);
  const values = await matrix.data();
  matrix.dispose();
  const firstPos = start + fed.length - recent.length;
  return lengths.every((len, b) => {
    for (let i = 0; i < recent.length; i++) {
      const pos = firstPos + i;
      if (pos >= len && values[b * recent.length + i] === opts.eosId) finished[b] = true;
    }
    const lastPos = start + fed.length - 1;
    return finished[b] || lastPos >= len + opts.maxNewTokens - 1;
  });
}

function assemble(all: ArrayLike<number>, steps: number, start: number, lengths: number[], opts: SampleOptions): SampleResult {
  const completions: number[][] = [];
  const finished: boolean[] = [];
  lengths.forEach((len, b) => {
    const out: number[] = [];
    let ended = false;
    for (let pos = len; pos < len + opts.maxNewTokens && pos - start < steps; pos++) {
      const tok = all[b * steps + (pos - start)];
      out.push(tok);
      if (tok === opts.eosId) {
        ended = true;
        break;
      }
    }
    completions.push(out);
    finished.push(ended);
  });
  return { completions, finished };
}
