/**
 * The engine worker: owns tfjs, the models and training. It creates the session on `init` and hands
 * every other call to it, so each method of the worker API is written once, in the session.
 */
import * as Comlink from 'comlink';
import type { EngineEvent } from '../src/lib/types';
import { Session } from '../src/lib/session/session';
import type { EngineApi, InitOptions } from './api';
import { pickBackend } from './backend';

let session: Session | null = null;
let checkpointUrl = '';

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Could not load ${url}: HTTP ${response.status}.`);
  return new Uint8Array(await response.arrayBuffer());
}

async function init(options: InitOptions, onEvent: (e: EngineEvent) => void) {
  const backend = await pickBackend(options.preferredBackend);
  const started = new Session(backend, onEvent, fetchBytes);
  checkpointUrl = options.checkpointUrl ?? '';
  started.setCorpus({ kind: 'builtin' });
  if (checkpointUrl) {
    try {
      await started.loadCheckpointUrl(checkpointUrl);
    } catch (err) {
      onEvent({
        type: 'log',
        level: 'warn',
        message: `The shipped checkpoint did not load (${(err as Error).message}); starting from a fresh model.`,
      });
      started.newModel({ preset: 'mini', tokenizer: 'bpe' });
    }
  } else started.newModel({ preset: 'mini', tokenizer: 'bpe' });
  await started.restore();
  session = started;
  return started.status();
}

const own = { init, loadShipped: () => current().loadCheckpointUrl(checkpointUrl) };

function current(): Session {
  if (!session) throw new Error('The engine is not initialised yet.');
  return session;
}

/** Every call but init goes to the session's method of the same name. */
const api = new Proxy(own, {
  get(target, key: string) {
    if (key in target) return target[key as keyof typeof own];
    return (...args: unknown[]) => (current() as unknown as Record<string, (...a: unknown[]) => unknown>)[key](...args);
  },
}) as unknown as EngineApi;

Comlink.expose(api);
