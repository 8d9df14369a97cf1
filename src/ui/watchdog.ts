/**
 * The engine worker, watched: a heartbeat (ping every 500 ms; silent for 3.5 s means dead or hung),
 * and every call raced against a timeout and against the worker's death, so no call hangs forever.
 * On a death the in-flight calls fail with the reason, and `onDead` hears it once.
 */
import * as Comlink from 'comlink';
import type { EngineApi } from '../../workers/api';

const BEAT_MS = 500;
/** Silent this long: dead or hung (detected within BEAT_MS + DEAD_AFTER_MS = 4 s). */
const DEAD_AFTER_MS = 3500;
/** No ordinary call takes this long; run() returns at once, training goes on in the worker. */
const CALL_TIMEOUT_MS = 120_000;
/** Starting a worker loads a model, the rankings and the autosave. */
const INIT_TIMEOUT_MS = 300_000;

export interface Recovery {
  reason: string;
  /** From the last heartbeat answered to the restart (0 when the worker said so itself, e.g. a lost GPU). */
  detectedAfterMs: number;
  /** From the restart to a restored, ready engine. */
  restoreMs: number;
}

type Remote = Comlink.Remote<EngineApi>;

export class Watchdog {
  readonly api: Remote;
  private readonly worker: Worker;
  private readonly remote: Remote;
  private readonly mourners = new Set<(reason: string) => void>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private lastAnswer = performance.now();
  private dead = false;

  constructor(private readonly onDead: (reason: string) => void) {
    this.worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    this.remote = Comlink.wrap<EngineApi>(this.worker);
    this.api = this.guarded();
  }

  /** Starts the heartbeat (after init: a worker that is still loading is not hung). */
  beat(): void {
    this.lastAnswer = performance.now();
    this.timer = setInterval(() => this.check(), BEAT_MS);
  }

  silentForMs(): number {
    return performance.now() - this.lastAnswer;
  }

  /** Ends the worker and the heartbeat; calls in flight fail. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.dead = true;
    this.mourn('The engine was stopped');
    this.worker.terminate();
  }

  /** Test hook: the worker vanishes as in a crash; only the heartbeat can notice. */
  terminateQuietly(): void {
    this.worker.terminate();
  }

  private check(): void {
    if (this.dead) return;
    if (this.silentForMs() > DEAD_AFTER_MS)
      return this.declareDead(`The engine stopped responding (no answer for ${(DEAD_AFTER_MS / 1000).toFixed(1)} s).`);
    void this.remote.ping().then(() => (this.lastAnswer = performance.now()));
  }

  private declareDead(reason: string): void {
    this.dead = true;
    if (this.timer) clearInterval(this.timer);
    this.mourn(reason);
    this.worker.terminate();
    this.onDead(reason);
  }

  private mourn(reason: string): void {
    this.mourners.forEach((m) => m(reason));
    this.mourners.clear();
  }

  /** The remote with every call raced against its timeout and the worker's death. */
  private guarded(): Remote {
    const remote = this.remote as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    return new Proxy({} as Remote, {
      get: (_, key) => {
        if (typeof key !== 'string' || key === 'then') return undefined;
        return (...args: unknown[]) => this.within(key, () => remote[key](...args));
      },
    });
  }

  private within<T>(name: string, call: () => Promise<T>): Promise<T> {
    if (this.dead) return Promise.reject(new Error('The engine is restarting after a fault; try again in a moment.'));
    const limit = name === 'init' ? INIT_TIMEOUT_MS : CALL_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const mourner = (reason: string) =>
        reject(
          new Error(
            `${reason.replace(/\.$/, '')}: the engine did not confirm this (${name}). It restarts from the autosave; check the result and try again if it is missing.`,
          ),
        );
      const timer = setTimeout(() => reject(new Error(`The engine did not answer ${name} within ${limit / 1000} s.`)), limit);
      this.mourners.add(mourner);
      call()
        .then(resolve, reject)
        .finally(() => {
          clearTimeout(timer);
          this.mourners.delete(mourner);
        });
    });
  }
}
