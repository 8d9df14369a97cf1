/**
 * The engine worker: owns tfjs, the models and training. It creates the session on `init` and hands
 * every other call to it, so each method of the worker API is written once, in the session. Its own
 * calls: init (backend, storage or none, shipped model, stored rankings, the autosave), startPulse (the
 * UI's watchdog), and the test hooks for faults (a lost GPU device, a hung worker).
 */
import * as Comlink from 'comlink';
import type { EngineEvent } from '../src/lib/types';
import { MemoryRunStore } from '../src/lib/runs/runStore';
import { openRankingStore } from '../src/lib/session/rankingStore';
import { Session } from '../src/lib/session/session';
import type { EngineApi, InitOptions, InitResult, ShippedCheckpoint } from './api';
import { loseDevice, pickBackend, watchDevice } from './backend';

let session: Session | null = null;
let checkpointUrl = '';
/** The other shipped checkpoints, by name (loadShipped). */
const shippedUrls: Partial<Record<ShippedCheckpoint, string>> = {};
const SHIPPED_NAMES: Record<ShippedCheckpoint, string> = { pretrained: 'pretrained', sft: 'SFT', tasks: 'task-pretrained' };

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Could not load ${url}: HTTP ${response.status}.`);
  return new Uint8Array(await response.arrayBuffer());
}

async function loadStartingModel(started: Session, onEvent: (e: EngineEvent) => void): Promise<void> {
  if (!checkpointUrl) return void started.newModel({ preset: 'mini', tokenizer: 'bpe' });
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
}

/** The autosave, or null when there is none or it cannot be read (then the session starts fresh, and says why). */
async function restoreAutosave(started: Session, onEvent: (e: EngineEvent) => void): Promise<InitResult['restored']> {
  try {
    return await started.restoreAutosave();
  } catch (err) {
    onEvent({
      type: 'log',
      level: 'warn',
      message: `The autosaved session could not be restored (${(err as Error).message}); starting fresh.`,
    });
    await loadStartingModel(started, onEvent);
    return null;
  }
}

async function init(options: InitOptions, onEvent: (e: EngineEvent) => void): Promise<InitResult> {
  const backend = await pickBackend(options.preferredBackend, { threads: options.wasmThreads });
  const { store, problem } = await openRankingStore();
  // without storage, run history lives in memory too (IndexedDB would throw on every write)
  const runStore = problem ? new MemoryRunStore() : undefined;
  const started = new Session(backend, onEvent, fetchBytes, {
    store,
    runStore,
    autosave: !problem,
    storageProblem: problem?.message ?? '',
  });
  checkpointUrl = options.checkpointUrl ?? '';
  Object.assign(shippedUrls, { pretrained: checkpointUrl, sft: options.sftCheckpointUrl ?? '', tasks: options.tasksCheckpointUrl ?? '' });
  started.setCorpus({ kind: 'builtin' });
  await loadStartingModel(started, onEvent);
  await started.restore();
  const restored = problem || options.restore === false ? null : await restoreAutosave(started, onEvent);
  started.startAutosave();
  watchDevice((reason) => {
    started.haltAutosave(); // the weights lived on the lost device: keep the last good autosave
    onEvent({ type: 'lost', reason });
  });
  session = started;
  return { ...started.status(), restored };
}

/** Test hook: blocks this worker's thread for `ms`, as a runaway kernel or an infinite loop would. */
function debugHang(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}

/**
 * The UI's watchdog's two signals. A pulse that a busy thread cannot delay: a nested worker posts on
 * `port` every 250 ms; it ends with this worker (a crash, terminate()), so a silent port means this worker
 * is gone. A heartbeat from this thread's own event loop on `heart` every 500 ms: silent while it is stuck.
 */
function startPulse(port: MessagePort, heart: MessagePort): void {
  const code = 'onmessage = (e) => { const port = e.data; setInterval(() => port.postMessage(0), 250); };';
  const pulse = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
  pulse.postMessage(port, [port]);
  setInterval(() => heart.postMessage(0), 500);
}

const own = {
  init,
  startPulse,
  loadShipped: (which: ShippedCheckpoint = 'pretrained') => {
    const url = shippedUrls[which];
    if (!url) throw new Error(`No shipped ${SHIPPED_NAMES[which]} checkpoint was given to this engine.`);
    return current().loadCheckpointUrl(url);
  },
  debugLoseDevice: loseDevice,
  debugHang,
};

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
