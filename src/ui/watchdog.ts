/**
 * The engine worker, watched. Two signals: a pulse from a nested worker (every 250 ms, whatever the
 * engine's thread is doing; it stops when the engine worker is gone, so a crash or terminate() is
 * detected within 2 s), and a heartbeat from the engine's own event loop (every 500 ms; silent for
 * longer than the backend's bound: hung, and the notice says for how long). Every phase of training lets
 * the event loop in often: a step runs in parts of about PART_MS (train/parts.ts), an evaluation yields
 * between its batches, a sampling every BREATHE_MS. So the bound needs no allowance for a long step: on
 * webgpu, whose kernels run off the thread, 4.5 s; on wasm, webgl and cpu, where they hold it, 8 s
 * (scripts/measure-stalls.ts gives the longest stretch per phase). A hang is declared within 10 s everywhere.
 * Both signals are messages, which a throttled page (a background tab) still receives at once; a check
 * that itself ran late judges nothing, so a throttled page never mistakes its own sleep for a hang.
 * Every call is raced against a timeout and against the worker's death, so no call hangs forever; on a
 * death the calls in flight fail with the reason, and `onDead` hears it once.
 */
import * as Comlink from 'comlink';
import type { BackendName } from '../lib/types';
import type { EngineApi } from '../../workers/api';

const CHECK_MS = 250;
/** No pulse for this long: the worker is gone. */
const GONE_AFTER_MS = 2000;
/** No heartbeat for this long: the worker's thread is stuck (by backend: where the kernels run). */
export const HUNG_AFTER_MS: Record<BackendName, number> = { webgpu: 4500, webgl: 8000, wasm: 8000, cpu: 8000 };
/** A check this late after the one before: this page was asleep (throttled), and the messages may still be queued. */
const LATE_CHECK_MS = 1500;
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

/** Why the worker is taken for dead, and how long the signal that failed had been silent. */
export interface Death {
  reason: string;
  silentMs: number;
}

/**
 * The verdict from the signals' arrival times alone (no timers, no worker): each check hands it the time, and it
 * says whether the worker is gone or hung, with the silence as measured.
 */
export class SilenceJudge {
  private lastPulse: number;
  private lastBeat: number;
  private lastCheck: number;
  /** The longest gap between two heartbeats: the engine's longest legitimate silence so far. */
  longestBeatGapMs = 0;

  constructor(
    readonly hungAfterMs: number,
    now: number,
  ) {
    this.lastPulse = this.lastBeat = this.lastCheck = now;
  }

  pulse(now: number): void {
    this.lastPulse = now;
  }

  beat(now: number): void {
    this.longestBeatGapMs = Math.max(this.longestBeatGapMs, now - this.lastBeat);
    this.lastBeat = now;
  }

  /** Null while the worker lives, and whenever this check ran late (the page was asleep, messages may be queued). */
  check(now: number): Death | null {
    const late = now - this.lastCheck > LATE_CHECK_MS;
    this.lastCheck = now;
    if (late) return null;
    const unpulsed = now - this.lastPulse;
    if (unpulsed > GONE_AFTER_MS) return { reason: 'The engine worker stopped (it crashed or was ended).', silentMs: unpulsed };
    const unbeaten = now - this.lastBeat;
    if (unbeaten <= this.hungAfterMs) return null;
    return { reason: `The engine stopped responding (its thread was stuck for ${(unbeaten / 1000).toFixed(1)} s).`, silentMs: unbeaten };
  }
}

type Remote = Comlink.Remote<EngineApi>;

export class Watchdog {
  readonly api: Remote;
  private readonly worker: Worker;
  private readonly remote: Remote;
  private readonly mourners = new Set<(reason: string) => void>();
  private timer: ReturnType<typeof setInterval> | null = null;
  /** Replaced by beat(): until then the signals are noted and nothing is judged (a loading worker beats late). */
  private judge = new SilenceJudge(HUNG_AFTER_MS.webgpu, performance.now());
  /** How long the signal that failed had been silent when the worker was declared dead. */
  private silence = 0;
  private dead = false;

  constructor(private readonly onDead: (reason: string) => void) {
    this.worker = new Worker(new URL('../../workers/engine.worker.ts', import.meta.url), { type: 'module', name: 'engine' });
    this.remote = Comlink.wrap<EngineApi>(this.worker);
    this.api = this.guarded();
    const pulse = new MessageChannel();
    const heart = new MessageChannel();
    pulse.port1.onmessage = () => this.judge.pulse(performance.now());
    heart.port1.onmessage = () => this.judge.beat(performance.now());
    void this.remote.startPulse(Comlink.transfer(pulse.port2, [pulse.port2]), Comlink.transfer(heart.port2, [heart.port2]));
  }

  /** Starts watching (after init: a worker that is still loading beats late, but its pulse is on), with the bound for its backend. */
  beat(backend: BackendName): void {
    this.judge = new SilenceJudge(HUNG_AFTER_MS[backend], performance.now());
    this.timer = setInterval(() => this.check(), CHECK_MS);
  }

  /** The longest gap between two heartbeats while watched: the engine's longest legitimate silence so far. */
  get longestBeatGapMs(): number {
    return this.timer ? this.judge.longestBeatGapMs : 0;
  }

  /** How long the failed signal had been silent when the worker was declared dead (0 before, e.g. when it reported a fault itself). */
  silentForMs(): number {
    return this.silence;
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
    const death = this.judge.check(performance.now());
    if (death) this.declareDead(death);
  }

  private declareDead({ reason, silentMs }: Death): void {
    this.silence = silentMs;
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
