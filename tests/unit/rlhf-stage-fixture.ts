/** Shared setup of the rlhf-stage tests: the tiny pretrained checkpoint and its tokenizer. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeCheckpoint, modelFromCheckpoint, type Checkpoint } from '../../src/lib/model/checkpoint';
import type { GPT } from '../../src/lib/model/gpt';
import type { Tokenizer } from '../../src/lib/data/tokenizer';

export const FIXTURE_PATH = process.env.RLHF_FIXTURE ?? fileURLToPath(new URL('../fixtures/tiny-pretrained.safetensors', import.meta.url));

export const fixtureExists = existsSync(FIXTURE_PATH);

let checkpoint: Checkpoint | null = null;

/** A fresh copy of the tiny pretrained model (preset tiny, BPE, the built-in world corpus) and its tokenizer. */
export function loadPretrained(): { model: GPT; tokenizer: Tokenizer } {
  checkpoint ??= decodeCheckpoint(new Uint8Array(readFileSync(FIXTURE_PATH)));
  return { model: modelFromCheckpoint(checkpoint), tokenizer: checkpoint.tokenizer };
}
