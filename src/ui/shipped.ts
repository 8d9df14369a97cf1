/**
 * The shipped checkpoints beside the default one (the SFT model, the task-pretrained model): the report that ships
 * beside each (.json next to its .safetensors), and loading one after the reset guard has asked.
 */
import type { ShippedCheckpoint } from '../../workers/api';
import { engine } from './engine.svelte';
import { resetGuard } from './resetGuard.svelte';

/** The report beside `checkpointUrl` when `complete` accepts it; null when it is absent, unreadable or incomplete. */
export async function shippedReport<T>(checkpointUrl: string, complete: (json: Partial<T>) => boolean): Promise<T | null> {
  try {
    const response = await fetch(checkpointUrl.replace(/\.safetensors$/, '.json'));
    const json = response.ok ? ((await response.json()) as Partial<T>) : null;
    return json && complete(json) ? (json as T) : null;
  } catch {
    return null;
  }
}

/** Loads shipped checkpoint `which` once the person agrees to `action`; `busy` spans the load. True when it loaded. */
export async function loadShipped(which: ShippedCheckpoint, action: string, busy: (on: boolean) => void): Promise<boolean> {
  if (!(await resetGuard.confirmReset(action))) return false;
  busy(true);
  try {
    const loaded = (await engine.call((api) => api.loadShipped(which))) !== undefined;
    if (loaded) resetGuard.clearCharts();
    await engine.refresh();
    return loaded;
  } finally {
    busy(false);
  }
}
