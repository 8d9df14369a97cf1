/**
 * Shared setup of the rlhf-stage tests: the tiny pretrained checkpoint and its tokenizer; and the same model pretrained
 * longer (LONG_FIXTURE_PATH: 5,500 steps instead of 1,500, tests/fixtures/tiny-pretrained-long.json), which has learned
 * to repeat a story's names and places.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { decodeCheckpoint, modelFromCheckpoint, type Checkpoint } from '../../src/lib/model/checkpoint';
import type { GPT } from '../../src/lib/model/gpt';
import type { Tokenizer } from '../../src/lib/data/tokenizer';

export const FIXTURE_PATH = process.env.RLHF_FIXTURE ?? fileURLToPath(new URL('../fixtures/tiny-pretrained.safetensors', import.meta.url));

export const LONG_FIXTURE_PATH = fileURLToPath(new URL('../fixtures/tiny-pretrained-long.safetensors', import.meta.url));

export const fixtureExists = existsSync(FIXTURE_PATH);

const checkpoints = new Map<string, Checkpoint>();

/** A fresh copy of the tiny pretrained model (preset tiny, BPE, the built-in world corpus) and its tokenizer. */
export function loadPretrained(path = FIXTURE_PATH): { model: GPT; tokenizer: Tokenizer } {
  if (!checkpoints.has(path)) checkpoints.set(path, decodeCheckpoint(new Uint8Array(readFileSync(path))));
  const checkpoint = checkpoints.get(path)!;
  return { model: modelFromCheckpoint(checkpoint), tokenizer: checkpoint.tokenizer };
}
