/**
 * A minimal promise-based key-value store over IndexedDB (works in a window, a worker, and in Node tests
 * with fake-indexeddb). Every failure is a StorageError that names its cause (quota, unavailable,
 * blocked); a batch of writes is one transaction, so it lands whole or not at all.
 */
const DB_NAME = 'rlhf-playground';
// version 2 added 'runs' (run history) and 'autosave'; 3 makes sure a database that got only one of them gets both
const DB_VERSION = 3;
const STORES = ['checkpoints', 'rankings', 'demonstrations', 'settings', 'runs', 'autosave'] as const;
export type StoreName = (typeof STORES)[number];

/** Why a storage call failed, in words a person can act on. */
export type StorageCause = 'quota' | 'unavailable' | 'blocked' | 'failed';

const CAUSE_TEXT: Record<StorageCause, string> = {
  quota: "the browser's storage for this site is full (quota exceeded)",
  unavailable: 'this browser offers no storage here (IndexedDB is unavailable: private mode, disabled, or blocked by a setting)',
  blocked: 'the storage is held by another tab of the playground (close it or reload it)',
  failed: 'the browser refused the write',
};

/** Whether a message tells of a full storage (the UI then offers to free space): one wording, CAUSE_TEXT's. */
export const tellsOfFullStorage = (message: string) => message.includes(CAUSE_TEXT.quota);

export class StorageError extends Error {
  constructor(
    readonly kind: StorageCause,
    detail = '',
  ) {
    super(CAUSE_TEXT[kind] + (detail ? ` (${detail})` : ''));
    this.name = 'StorageError';
  }
}

/** Classifies whatever IndexedDB threw or reported. */
export function storageError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const e = err as { name?: string; message?: string } | null;
  const name = e?.name ?? '';
  const detail = e?.message || name;
  if (name === 'QuotaExceededError' || /quota/i.test(detail)) return new StorageError('quota', detail);
  if (name === 'InvalidStateError' || name === 'SecurityError' || name === 'UnknownError') return new StorageError('unavailable', detail);
  return new StorageError('failed', detail || 'no reason given');
}

let opening: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  opening ??= new Promise<IDBDatabase>((resolve, reject) => {
    if (typeof indexedDB === 'undefined') throw new StorageError('unavailable', 'indexedDB is missing');
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () =>
      STORES.filter((s) => !request.result.objectStoreNames.contains(s)).forEach((s) => request.result.createObjectStore(s));
    request.onsuccess = () => {
      // another tab's newer version asks us to let go: close, so that it is not blocked forever
      request.result.onversionchange = () => request.result.close();
      resolve(request.result);
    };
    request.onerror = () => reject(storageError(request.error));
    request.onblocked = () => reject(new StorageError('blocked'));
  }).catch((err: unknown) => {
    opening = null; // a later call tries again
    throw storageError(err);
  });
  return opening;
}

/** Opens the database once, or says why it cannot: the engine then runs with persistence off. */
export async function idbProbe(): Promise<StorageError | null> {
  try {
    await open();
    return null;
  } catch (err) {
    return storageError(err);
  }
}

async function run<T>(store: StoreName, mode: IDBTransactionMode, action: (s: IDBObjectStore) => IDBRequest<T> | void): Promise<T> {
  const db = await open();
  return new Promise<T>((resolve, reject) => {
    let request: IDBRequest<T> | void;
    let tx: IDBTransaction | null = null;
    try {
      const t = (tx = db.transaction(store, mode));
      t.oncomplete = () => resolve(request ? request.result : (undefined as T));
      t.onerror = () => reject(storageError(t.error));
      t.onabort = () => reject(storageError(t.error ?? { name: 'AbortError', message: 'the transaction was aborted' }));
      request = action(t.objectStore(store));
    } catch (err) {
      // a write that throws (say, a value that cannot be cloned) takes the whole batch with it
      tx?.abort();
      reject(storageError(err));
    }
  });
}

export const idbPut = (store: StoreName, key: string, value: unknown) =>
  run(store, 'readwrite', (s) => s.put(value, key)).then(() => undefined);
/** Many writes in one transaction: all are kept, or none. */
export const idbPutMany = (store: StoreName, entries: readonly (readonly [string, unknown])[]) =>
  entries.length === 0
    ? Promise.resolve()
    : run(store, 'readwrite', (s) => entries.forEach(([key, value]) => s.put(value, key))).then(() => undefined);
export const idbGet = <T>(store: StoreName, key: string) =>
  run<T | undefined>(store, 'readonly', (s) => s.get(key) as IDBRequest<T | undefined>);
export const idbDelete = (store: StoreName, key: string) => run(store, 'readwrite', (s) => s.delete(key)).then(() => undefined);
export const idbKeys = (store: StoreName) => run(store, 'readonly', (s) => s.getAllKeys()).then((keys) => keys.map(String));
export const idbValues = <T>(store: StoreName) => run<T[]>(store, 'readonly', (s) => s.getAll() as IDBRequest<T[]>);
export const idbClear = (store: StoreName) => run(store, 'readwrite', (s) => s.clear()).then(() => undefined);
