/** Where run records are kept between visits: IndexedDB in the browser, memory in tests and when storage is off. */
import { idbDelete, idbGet, idbPut, idbValues } from '../storage/idb';
import type { RunRecord } from './record';

export interface RunStore {
  readonly persistent: boolean;
  all(): Promise<RunRecord[]>;
  get(id: string): Promise<RunRecord | undefined>;
  put(run: RunRecord): Promise<void>;
  delete(id: string): Promise<void>;
}

export class IdbRunStore implements RunStore {
  readonly persistent = true;
  all = () => idbValues<RunRecord>('runs');
  get = (id: string) => idbGet<RunRecord>('runs', id);
  put = (run: RunRecord) => idbPut('runs', run.id, run);
  delete = (id: string) => idbDelete('runs', id);
}

export class MemoryRunStore implements RunStore {
  readonly persistent = false;
  private readonly runs = new Map<string, RunRecord>();
  all = async () => [...this.runs.values()].map((r) => structuredClone(r));
  get = async (id: string) => structuredClone(this.runs.get(id));
  put = async (run: RunRecord) => void this.runs.set(run.id, structuredClone(run));
  delete = async (id: string) => void this.runs.delete(id);
}

export function defaultRunStore(): RunStore {
  return typeof indexedDB !== 'undefined' ? new IdbRunStore() : new MemoryRunStore();
}
