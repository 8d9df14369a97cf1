/**
 * One writer: the engine runs in one tab at a time (Web Locks). A second tab waits and offers to take
 * over; taking over steals the lock, and the first tab hears it and stops its engine, so two engines
 * never write one store. Without Web Locks (old browsers) every tab runs, as before.
 */
const LOCK_NAME = 'rlhf-playground-engine';

/**
 * Asks for the lock: at once if free (steal = false), or taken from its holder (steal = true).
 * Resolves true once held (and keeps it until the page goes), false when another tab holds it.
 * `onStolen` runs when another tab takes it over.
 */
export function holdEngineLock(steal: boolean, onStolen: () => void): Promise<boolean> {
  const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
  if (!locks) return Promise.resolve(true);
  return new Promise((resolve) => {
    locks
      .request(LOCK_NAME, steal ? { steal: true } : { ifAvailable: true }, (lock) => {
        resolve(lock !== null);
        return lock ? new Promise<void>(() => {}) : undefined; // held for the page's lifetime
      })
      .catch((err: Error) => {
        if (err.name === 'AbortError') onStolen();
        resolve(false);
      });
  });
}
