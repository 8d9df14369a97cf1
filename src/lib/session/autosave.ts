/**
 * Autosave: what a reload, a dead worker or a lost GPU would otherwise take away, captured at step
 * boundaries, when a stage changes state and when a setting changes, and written to IndexedDB in the
 * background. The weights of the policy and of every stage's own models (its descriptor's savedVariables:
 * the reward model, PPO's frozen SFT reference) are read back in ONE device readback; the write is
 * coalesced (one in flight, one queued) so the training loop never waits. sessionSave.ts restores it.
 *
 * Restored: the policy (with its tokenizer), the corpus, each stage's settings, state and step, the
 * models its descriptor keeps (the reward model, PPO's SFT reference), the metric series and the samples on show.
 * Not restored (a resumed stage starts these afresh): optimizer moments (AdamW m and v), PPO's value
 * model (re-cloned from the reward model) and its adaptive-KL controller, the data shuffles' RNG
 * position, and the "weights before the stage began" that Reset returns to (Reset after a restore
 * returns to the weights as restored).
 */
import * as tf from '@tensorflow/tfjs';
import type { Tokenizer } from '../data/tokenizer';
import { encodeCheckpoint, type NamedArray } from '../model/checkpoint';
import type { GPT } from '../model/gpt';
import type { SettingValues } from '../settings';
import type { CorpusSource, MetricPoint, SampleView, StageName, StageState } from '../types';

export const AUTOSAVE_KEY = 'current';

export interface SavedStage {
  state: StageState;
  step: number;
  /** The stage's own models' variables, flattened in their order (its descriptor's savedVariables). */
  weights?: Float32Array;
}

export interface AutosaveRecord {
  version: 1;
  savedAt: number;
  /** The policy as a safetensors checkpoint (config and tokenizer included). */
  policy: Uint8Array;
  modelSource: string;
  corpus: CorpusSource | null;
  settings: Record<StageName, SettingValues>;
  stages: Record<StageName, SavedStage>;
  metrics: Record<StageName, MetricPoint[]>;
  samples: Record<StageName, { step: number; samples: SampleView[] }>;
}

/** What one capture needs from the session, read synchronously at a step boundary. */
export interface AutosaveSource {
  policy: GPT;
  tokenizer: Tokenizer;
  modelSource: string;
  corpus: CorpusSource | null;
  settings: Record<StageName, SettingValues>;
  stages: { name: StageName; state: StageState; step: number; variables: tf.Variable[] }[];
  metrics: Record<StageName, MetricPoint[]>;
  samples: Record<StageName, { step: number; samples: SampleView[] }>;
}

/** Every variable flattened into one tensor: one readback instead of one per tensor. */
async function readAll(variables: tf.Variable[]): Promise<Float32Array> {
  if (variables.length === 0) return new Float32Array(0);
  const flat = tf.tidy(() => tf.concat(variables.map((v) => tf.reshape(v, [-1]))));
  try {
    return (await flat.data()) as Float32Array;
  } finally {
    flat.dispose();
  }
}

/**
 * Snapshots the source. The concat is enqueued before this returns its promise, so the weights are
 * those of the boundary it was called at even if training goes on while the readback completes.
 */
export async function captureAutosave(src: AutosaveSource): Promise<AutosaveRecord> {
  const policyVars = [...src.policy.params];
  const stageMeta = src.stages.map(({ name, state, step, variables }) => ({ name, state, step, variables }));
  const copied = {
    settings: structuredClone(src.settings),
    metrics: Object.fromEntries(Object.entries(src.metrics).map(([k, v]) => [k, v.slice()])),
    samples: { ...src.samples },
  };
  const all = await readAll([...policyVars.map(([, v]) => v), ...stageMeta.flatMap((s) => s.variables)]);
  let at = 0;
  const take = (v: tf.Variable) => all.slice(at, (at += v.size));
  const tensors = new Map<string, NamedArray>(policyVars.map(([name, v]) => [name, { shape: v.shape, data: take(v) }]));
  const policy = encodeCheckpoint({
    kind: 'policy',
    config: src.policy.config,
    tokenizer: src.tokenizer,
    tensors,
    createdAt: new Date().toISOString(),
    note: src.modelSource,
  });
  const stages: Record<StageName, SavedStage> = {};
  for (const s of stageMeta) {
    const size = s.variables.reduce((n, v) => n + v.size, 0);
    stages[s.name] = { state: s.state, step: s.step, weights: size ? all.slice(at, (at += size)) : undefined };
  }
  return {
    version: 1,
    savedAt: Date.now(),
    policy,
    modelSource: src.modelSource,
    corpus: src.corpus,
    stages,
    ...copied,
  };
}

/** Loads saved weights into variables of the same shapes, in the same order. */
export function assignAll(variables: tf.Variable[], weights: Float32Array): void {
  const expected = variables.reduce((n, v) => n + v.size, 0);
  if (expected !== weights.length) throw new Error(`the saved weights hold ${weights.length} numbers, the model ${expected}`);
  let at = 0;
  for (const v of variables) {
    const value = tf.tensor(weights.subarray(at, (at += v.size)), v.shape, 'float32');
    v.assign(value);
    value.dispose();
  }
}

/**
 * Coalesces saves: at most one capture-and-write in flight. A boundary request within `intervalMs` of
 * the last save is dropped (the next boundary or a forced request covers it); a forced request (a
 * stage changed state) while one is in flight runs right after it.
 */
export class Autosaver {
  private inFlight: Promise<void> | null = null;
  private queued = false;
  private lastStart = 0;
  /** Milliseconds the last save took (capture + write), for the UI and the measurements. */
  lastCostMs = 0;
  lastCaptureMs = 0;
  /** Why the last save failed, or null when it was written. */
  lastError: Error | null = null;

  constructor(
    private readonly capture: () => Promise<AutosaveRecord> | null,
    private readonly write: (record: AutosaveRecord) => Promise<void>,
    private readonly onSaved: (record: AutosaveRecord, costMs: number) => void,
    private readonly onFailed: (err: Error) => void,
    readonly intervalMs = 1500,
  ) {}

  /** Saves start once the session is whole (after a restore, which must not be overwritten by the state before it). */
  private stopped = true;

  arm(): void {
    this.stopped = false;
  }

  /** No more saves (the device that holds the weights is gone: a save now could only fail or lie). */
  stop(): void {
    this.stopped = true;
    this.queued = false;
  }

  request(force = false): void {
    if (this.stopped) return;
    if (this.inFlight) {
      if (force) this.queued = true;
      return;
    }
    if (!force && performance.now() - this.lastStart < this.intervalMs) return;
    this.start();
  }

  /** Resolves when nothing is in flight or queued. */
  async settled(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private start(): void {
    const started = performance.now();
    this.lastStart = started;
    const captured = this.capture();
    if (!captured) return;
    this.inFlight = captured
      .then(async (record) => {
        this.lastCaptureMs = performance.now() - started;
        await this.write(record);
        this.lastCostMs = performance.now() - started;
        this.onSaved(record, this.lastCostMs);
      })
      .then(() => {
        this.lastError = null;
      })
      .catch((err: Error) => {
        this.lastError = err;
        this.onFailed(err);
      })
      .finally(() => {
        this.inFlight = null;
        if (this.queued && !this.stopped) {
          this.queued = false;
          this.start();
        }
      });
  }
}
