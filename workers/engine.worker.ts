/**
 * The engine worker: owns tfjs, the models and training. The UI reaches it only through comlink
 * with the typed EngineApi (workers/api.ts); events come back through one proxied callback.
 */
import * as Comlink from 'comlink';
import type { BackendName, EngineApi, EngineEvent } from './api';
import { pickBackend } from './backend';
import { Engine } from '../src/lib/engine';

let engine: Engine | null = null;
let checkpointUrl = '';

function current(): Engine {
  if (!engine) throw new Error('The engine is not initialised yet.');
  return engine;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Could not load ${url}: HTTP ${response.status}.`);
  return new Uint8Array(await response.arrayBuffer());
}

const api: EngineApi = {
  async init(options: { preferredBackend?: BackendName; checkpointUrl?: string }, onEvent: (e: EngineEvent) => void) {
    const backend = await pickBackend(options.preferredBackend);
    engine = new Engine(backend, onEvent, fetchBytes);
    checkpointUrl = options.checkpointUrl ?? '';
    engine.setCorpus({ kind: 'builtin' });
    if (checkpointUrl) {
      try {
        await engine.loadCheckpointUrl(checkpointUrl);
      } catch (err) {
        onEvent({ type: 'log', level: 'warn', message: `The shipped checkpoint did not load (${(err as Error).message}); starting from a fresh model.` });
        engine.newModel({ preset: 'mini', tokenizer: 'bpe' });
      }
    } else engine.newModel({ preset: 'mini', tokenizer: 'bpe' });
    await engine.restore();
    return engine.status();
  },
  status: async () => current().status(),
  newModel: async (options) => current().newModel(options),
  loadShipped: async () => current().loadCheckpointUrl(checkpointUrl),
  setCorpus: async (source) => current().setCorpus(source),
  configure: async (stage, settings) => current().configure(stage, settings),
  run: (stage) => current().run(stage),
  pause: (stage) => current().pause(stage),
  step: (stage) => current().step(stage),
  reset: (stage) => current().reset(stage),
  sample: (request) => current().sample(request),
  async exportCheckpoint() {
    const bytes = await current().exportCheckpoint();
    return Comlink.transfer(bytes, [bytes.buffer]);
  },
  importCheckpoint: async (bytes, name) => current().importCheckpoint(bytes, name),
  saveToBrowser: (slot) => current().saveToBrowser(slot),
  loadFromBrowser: (slot) => current().loadFromBrowser(slot),
  listSaved: () => current().listSaved(),
  nextRankingTask: (k) => current().nextRankingTask(k),
  submitRanking: (taskId, order) => current().submitRanking(taskId, order),
  skipRankingTask: async (taskId) => current().skipRankingTask(taskId),
  counters: async () => current().counters(),
  addDemonstration: (instruction, response) => current().addDemonstration(instruction, response),
  exportRankings: async (format) => current().exportRankings(format),
  importRankings: (text) => current().importRankings(text),
  clearRankings: () => current().clearRankings(),
  labelers: async () => current().labelers(),
  setLabeler: async (settings) => current().setLabeler(settings),
};

Comlink.expose(api);
