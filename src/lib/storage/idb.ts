/** A minimal promise-based key-value store over IndexedDB (works in a window, a worker, and in Node tests with fake-indexeddb). */
const DB_NAME = 'rlhf-playground';
const STORES = ['checkpoints', 'rankings', 'demonstrations', 'settings', 'runs'] as const;
export type StoreName = (typeof STORES)[number];

let opening: Promise<IDBDatabase> | null = null;

function open(): Promise<IDBDatabase> {
  opening ??= new Promise((resolve, reject) => {
    // version 2 added 'runs': an upgrade creates only the stores a database from an older version lacks
    const request = indexedDB.open(DB_NAME, 2);
    request.onupgradeneeded = () =>
      STORES.filter((s) => !request.result.objectStoreNames.contains(s)).forEach((s) => request.result.createObjectStore(s));
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

async function run<T>(store: StoreName, mode: IDBTransactionMode, action: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode);
    const request = action(tx.objectStore(store));
    tx.oncomplete = () => resolve(request.result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export const idbPut = (store: StoreName, key: string, value: unknown) =>
  run(store, 'readwrite', (s) => s.put(value, key)).then(() => undefined);
export const idbGet = <T>(store: StoreName, key: string) =>
  run<T | undefined>(store, 'readonly', (s) => s.get(key) as IDBRequest<T | undefined>);
export const idbDelete = (store: StoreName, key: string) => run(store, 'readwrite', (s) => s.delete(key)).then(() => undefined);
export const idbKeys = (store: StoreName) => run(store, 'readonly', (s) => s.getAllKeys()).then((keys) => keys.map(String));
export const idbValues = <T>(store: StoreName) => run<T[]>(store, 'readonly', (s) => s.getAll() as IDBRequest<T[]>);
export const idbClear = (store: StoreName) => run(store, 'readwrite', (s) => s.clear()).then(() => undefined);
