/**
 * The engine worker, watched. Two signals: a pulse from a nested worker (every 250 ms, whatever the
 * engine's thread is doing; it stops when the engine worker is gone, so a crash or terminate() is
 * detected within 2 s), and a ping the engine's own thread must answer (unanswered for 15 s: hung). A
 * training step legitimately holds the thread for seconds (30 s for a reward-model step with mini on wasm on
 * 2 cores), so before each step the engine announces how long it may be busy (3x its longest step so far,
 * 120 s for a first step; a 'busy' event) and silence within that is no hang.
 * Every call is raced against a timeout and against the worker's death, so no call hangs forever; on a
 * death the calls in flight fail with the reason, and `onDead` hears it once.
 */
import * as Comlink from 'comlink';
import type { EngineApi } from '../../workers/api';

const CHECK_MS = 250;
/** No pulse for this long: the worker is gone. */
const GONE_AFTER_MS = 2000;
/** No answer to a ping for this long: the worker's thread is stuck. */
const HUNG_AFTER_MS = 15_000;
/** No ordinary call takes this long; run() returns at once, training goes on in the worker. */
const CALL_TIMEOUT_MS = 120_000;
/** Starting a worker loads a model, the rankings and the autosave. */
const INIT_TIMEOUT_MS = 300_000;

export interface Recovery {
  reason: string;
  /** From the last sign of life to the restart (0 when the worker said so itself, e.g. a lost GPU). */
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
  private lastPulse = performance.now();
  private lastAnswer = performance.now();
  private pinging = false;
  private dead = false;
  /** Until then the engine said its thread is busy (a training step, a reward-model update): silence is no hang. */
  private busyUntil = 0;

  constructor(private readonly onDead: (reason: string) => void) {
    this.worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    this.remote = Comlink.wrap<EngineApi>(this.worker);
    this.api = this.guarded();
    const channel = new MessageChannel();
    channel.port1.onmessage = () => (this.lastPulse = performance.now());
    void this.remote.startPulse(Comlink.transfer(channel.port2, [channel.port2]));
  }

  /** Starts watching (after init: a worker that is still loading answers pings late, but its pulse is on). */
  beat(): void {
    this.lastAnswer = this.lastPulse = performance.now();
    this.timer = setInterval(() => this.check(), CHECK_MS);
  }

  /** The engine announced work that may hold its thread this long from now. */
  expectSilence(forMs: number): void {
    this.busyUntil = Math.max(this.busyUntil, performance.now() + forMs);
  }

  /** How long since the last sign of life. */
  silentForMs(): number {
    return performance.now() - Math.max(this.lastPulse, this.pinging ? 0 : this.lastAnswer);
  }

  /** Ends the worker and the watching; calls in flight fail. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.dead = true;
    this.mourn('The engine was stopped');
    this.worker.terminate();
  }

  /** Test hook: the worker vanishes as in a crash; only the watchdog can notice. */
  terminateQuietly(): void {
    this.worker.terminate();
  }

  private check(): void {
    if (this.dead) return;
    const now = performance.now();
    if (now - this.lastPulse > GONE_AFTER_MS) return this.declareDead('The engine worker stopped (it crashed or was ended).');
    if (now - this.lastAnswer > HUNG_AFTER_MS && now > this.busyUntil)
      return this.declareDead(`The engine stopped responding (no answer for ${HUNG_AFTER_MS / 1000} s).`);
    if (this.pinging) return;
    this.pinging = true;
    void this.remote.ping().then(() => {
      this.lastAnswer = performance.now();
      this.pinging = false;
    });
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
