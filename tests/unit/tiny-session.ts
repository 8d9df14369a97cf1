/**
 * A session with the tiny pretrained checkpoint and the built-in corpus, recording its events. It is told it runs on cpu
 * (so lessons take the CPU sizes); tfjs itself runs on wasm (setup-tf.ts).
 */
import { readFileSync } from 'node:fs';
import type { EngineEvent } from '../../src/lib/types';
import { Session } from '../../src/lib/session/session';

export const CPU_BACKEND = { name: 'cpu' as const, adapter: 'test', fallbackReasons: [] };

export async function tinySession(events: EngineEvent[]): Promise<Session> {
  const engine = new Session(
    CPU_BACKEND,
    (e) => events.push(e),
    async (path) => new Uint8Array(readFileSync(path)),
  );
  engine.setCorpus({ kind: 'builtin', documents: 300 });
  await engine.loadCheckpointUrl('tests/fixtures/tiny-pretrained.safetensors');
  return engine;
}
