/**
 * Checkpoint files around the session: a policy file checked whole, the metadata beside a shipped one, and the slots
 * saved in the browser (IndexedDB).
 */
import { decodeCheckpoint, type Checkpoint } from '../model/checkpoint';
import { idbDelete, idbGet, idbKeys, idbPut } from '../storage/idb';
import type { ModelInfo } from '../types';

/** A policy checkpoint decoded and checked whole (format, config, tokenizer, tensor table and shapes, values); throws its cause in words. */
export function policyCheckpoint(bytes: Uint8Array): Checkpoint {
  const ckpt = decodeCheckpoint(bytes);
  if (ckpt.kind !== 'policy') throw new Error(`Cannot load this checkpoint: it holds a ${ckpt.kind} model, not a policy.`);
  return ckpt;
}

/** The pretraining figures in the .json beside a shipped checkpoint (valLoss, steps); undefined when there is none. */
export async function checkpointMeta(loadBytes: (url: string) => Promise<Uint8Array>, url: string): Promise<ModelInfo['pretrained']> {
  try {
    const meta = JSON.parse(new TextDecoder().decode(await loadBytes(url.replace(/\.safetensors$/, '.json'))));
    return Number.isFinite(meta.valLoss) ? { valLoss: Number(meta.valLoss), steps: Number(meta.steps) || 0 } : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves with the slot once the write is confirmed; a failure names its cause. */
export async function saveSlot(slot: string, bytes: Uint8Array): Promise<string> {
  await idbPut('checkpoints', slot, bytes).catch((err: Error) => {
    throw new Error(
      `${err.message}. Nothing was saved under "${slot}"; download the checkpoint instead, or delete old saves to free space.`,
    );
  });
  return slot;
}

export async function loadSlot(slot: string): Promise<Uint8Array> {
  const bytes = await idbGet<Uint8Array>('checkpoints', slot);
  if (!bytes) throw new Error(`Nothing is saved in the browser under "${slot}".`);
  return bytes;
}

export const deleteSlot = (slot: string): Promise<void> => idbDelete('checkpoints', slot);
export const listSlots = (): Promise<string[]> => idbKeys('checkpoints');
