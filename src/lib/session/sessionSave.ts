/**
 * The session's side of the autosave (autosave.ts holds the record, the capture and the coalescing):
 * what one capture reads from the session, and the restore of a record into it. Which models a stage
 * keeps besides the policy is its descriptor's `savedVariables`; a stage restored finished gets its
 * `onDone` again (the reward model's held-out figures).
 */
import type { Variable } from '@tensorflow/tfjs';
import type { Tokenizer } from '../data/tokenizer';
import { decodeCheckpoint, probedModelFromCheckpoint } from '../model/checkpoint';
import type { GPT } from '../model/gpt';
import type { StageContext, StageDescriptor } from '../stages/descriptor';
import { idbDelete, idbGet, idbPut } from '../storage/idb';
import type { Stage } from '../train/loop';
import type { CorpusSource, EngineEvent } from '../types';
import { assignAll, AUTOSAVE_KEY, Autosaver, captureAutosave, type AutosaveRecord, type AutosaveSource } from './autosave';
import type { ShownHistory } from './history';
import type { PolicySlot } from './policySlot';
import type { StageRunner } from './stageRunner';

export interface SaveHost {
  runner: StageRunner;
  history: ShownHistory;
  /** The policy, where it came from, and the corpus source. */
  slot: PolicySlot;
  setCorpus(source: CorpusSource): void;
  setModel(model: GPT, tokenizer: Tokenizer, source: string): void;
  context(): StageContext;
  emit(e: EngineEvent): void;
}

/** The models a stage holds besides the shared policy, as its descriptor names them. */
const savedVariables = (d: StageDescriptor, stage: Stage): Variable[] => d.savedVariables?.(stage) ?? [];

export class SessionSave {
  savedAt: number | null = null;
  /** While an autosave is being restored, nothing is saved (a half-restored session must not overwrite it). */
  restoring = false;
  private readonly autosaver: Autosaver | null;

  constructor(
    private readonly host: SaveHost,
    enabled: boolean,
  ) {
    this.autosaver = enabled ? this.newAutosaver() : null;
  }

  /** At a step boundary (dropped when the last save is recent) or, forced, after a change that must be kept. */
  request(force = false): void {
    this.autosaver?.request(force);
  }

  /** Something the user changed (a setting, a model, a stage's state): saved at once, unless a restore is under way. */
  changed(): void {
    if (!this.restoring) this.autosaver?.request(true);
  }

  private newAutosaver(): Autosaver {
    return new Autosaver(
      () => {
        const source = this.source();
        return source ? captureAutosave(source) : null;
      },
      (record) => idbPut('autosave', AUTOSAVE_KEY, record),
      (record, costMs) => {
        this.savedAt = record.savedAt;
        this.host.emit({ type: 'saved', savedAt: record.savedAt, costMs });
      },
      (err) =>
        this.host.emit({
          type: 'log',
          level: 'warn',
          message: `Autosave failed: ${err.message}. Training goes on; download your rankings and checkpoint to keep them.`,
        }),
    );
  }

  private source(): AutosaveSource | null {
    const { runner, history, slot } = this.host;
    if (!slot.model || !slot.tokenizer) return null;
    const stages = runner.stages.flatMap((d) => {
      const stage = runner.object(d.name);
      return stage ? [{ name: d.name, state: runner.state(d.name), step: stage.stepsDone, variables: savedVariables(d, stage) }] : [];
    });
    return {
      policy: slot.model,
      tokenizer: slot.tokenizer,
      modelSource: slot.source,
      corpus: slot.corpusSource,
      settings: runner.settings,
      stages,
      metrics: history.metrics,
      samples: history.samples,
    };
  }

  /** Saves now (outside the step path) and resolves once the write is confirmed; the time it took, in ms. */
  async saveNow(): Promise<number> {
    if (!this.autosaver) throw new Error('Autosave is off: this browser gives the playground no storage.');
    await this.autosaver.settled();
    this.autosaver.request(true);
    await this.autosaver.settled();
    if (this.autosaver.lastError) throw new Error(`Autosave failed: ${this.autosaver.lastError.message}.`);
    return this.autosaver.lastCostMs;
  }

  /** The last autosave's cost: capture (one readback) and the whole save, in ms. */
  cost(): { captureMs: number; totalMs: number } {
    return { captureMs: this.autosaver?.lastCaptureMs ?? 0, totalMs: this.autosaver?.lastCostMs ?? 0 };
  }

  /** Starts autosaving (once the session is restored: saving earlier would overwrite the autosave). */
  start(): void {
    this.autosaver?.arm();
  }

  /** Stops autosaving: the weights' device is gone, and the last good autosave must stay as it is. */
  halt(): void {
    this.autosaver?.stop();
  }

  async drop(): Promise<void> {
    await idbDelete('autosave', AUTOSAVE_KEY);
    this.savedAt = null;
  }

  /**
   * Restores the last autosave, if there is one: model, corpus, settings, stages (paused where they were
   * running) with the models their descriptors keep, metric series and samples. Returns when it was saved, or null.
   */
  async restore(): Promise<{ savedAt: number; skipped: string[] } | null> {
    const record = await idbGet<AutosaveRecord>('autosave', AUTOSAVE_KEY).catch(() => undefined);
    if (!record || record.version !== 1) return null;
    this.restoring = true;
    try {
      if (record.corpus) this.host.setCorpus(record.corpus);
      const ckpt = decodeCheckpoint(record.policy);
      this.host.setModel(await probedModelFromCheckpoint(ckpt), ckpt.tokenizer, record.modelSource);
      const skipped = [...this.restoreSettings(record.settings), ...(await this.restoreStages(record))];
      this.host.history.restore(record);
      this.savedAt = record.savedAt;
      return { savedAt: record.savedAt, skipped };
    } finally {
      this.restoring = false;
    }
  }

  /**
   * Saved settings go through the same checks as the form's: a value the current ranges refuse (saved by an older
   * version, say) keeps its default and is named. A second pass takes values that depend on one another in any order.
   */
  private restoreSettings(saved: AutosaveRecord['settings']): string[] {
    const { runner } = this.host;
    const refused = new Map<string, string>();
    for (let pass = 0; pass < 2; pass++)
      for (const name of Object.keys(runner.settings))
        for (const [key, value] of Object.entries(saved[name] ?? {})) {
          try {
            runner.configure(name, { [key]: value });
            refused.delete(`${name}.${key}`);
          } catch (err) {
            refused.set(`${name}.${key}`, `setting ${name}.${key} = ${String(value)} (${(err as Error).message}): its default is kept`);
          }
        }
    return [...refused.values()];
  }

  private async restoreStages(record: AutosaveRecord): Promise<string[]> {
    const { runner } = this.host;
    const skipped: string[] = [];
    for (const d of runner.stages) {
      const saved = record.stages[d.name];
      if (!saved || saved.state === 'not-started') continue;
      try {
        runner.adopt(d.name, saved.state === 'done' ? 'done' : 'paused', (stage) => {
          if (saved.weights) assignAll(savedVariables(d, stage), saved.weights);
          (stage as { stepsDone: number }).stepsDone = saved.step;
        });
        const stage = runner.object(d.name);
        if (saved.state === 'done' && stage && d.onDone) await d.onDone(stage, this.host.context());
      } catch (err) {
        skipped.push(`${d.title}: ${(err as Error).message}`);
      }
    }
    return skipped;
  }
}
