/**
 * Nothing is reset silently: before a new corpus, a fresh model or a loaded checkpoint drops the stages'
 * progress, `confirmReset` asks in the page (ResetDialog.svelte), says which stages go, and offers the
 * current model as a download. After a confirmed reset the dropped stages' charts are cleared.
 */
import type { StageName } from '../lib/types';
import { engine } from './engine.svelte';

export interface ResetQuestion {
  /** What the person asked for, e.g. "Use the pasted text as the corpus". */
  action: string;
  /** One line per stage with progress: "SFT: done", "PPO-ptx: iteration 12 of 200". */
  losses: string[];
  answer(proceed: boolean): void;
}

class ResetGuard {
  question = $state<ResetQuestion | null>(null);

  /** The stages with progress, each with what it has done. */
  progress(): { stage: StageName; line: string }[] {
    return engine.stages
      .map((info) => ({ info, status: engine.stage(info.name) }))
      .filter(({ status }) => status.state !== 'not-started')
      .map(({ info, status }) => ({
        stage: info.name,
        line: `${info.title}: ${status.state === 'done' ? 'done' : `${info.stepLabel} ${status.step}${status.total ? ` of ${status.total}` : ''}`}`,
      }));
  }

  /** Resolves true at once when no stage has progress; otherwise when the person answers the dialog. */
  confirmReset(action: string): Promise<boolean> {
    const losses = this.progress().map((p) => p.line);
    if (losses.length === 0) return Promise.resolve(true);
    this.question?.answer(false);
    return new Promise((resolve) => {
      this.question = {
        action,
        losses,
        answer: (proceed) => {
          this.question = null;
          resolve(proceed);
        },
      };
    });
  }

  /** After a reset: every stage's charts and samples go (their runs no longer exist). */
  clearCharts(): void {
    for (const info of engine.stages) engine.clearMetrics(info.name);
  }
}

export const resetGuard = new ResetGuard();

/** The current policy as a .safetensors download. */
export async function downloadCheckpoint(): Promise<boolean> {
  const bytes = await engine.call((api) => api.exportCheckpoint());
  if (!bytes) return false;
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: 'rlhf-playground-policy.safetensors' });
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
  return true;
}
