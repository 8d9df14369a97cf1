/**
 * The typed contract between the UI and the engine worker (through comlink): the session's public
 * methods, written once in src/lib/session/session.ts, plus `init`. Types only: importing this file
 * pulls no tfjs into the main thread.
 */
import type { Session } from '../src/lib/session/session';
import type { BackendName, EngineEvent, EngineStatus } from '../src/lib/types';

/** The shipped checkpoints a session can load by name (public/checkpoints/: default, sft, tasks). */
export type ShippedCheckpoint = 'pretrained' | 'sft' | 'tasks';

export interface InitOptions {
  preferredBackend?: BackendName;
  /** tfjs-wasm on threads where the page is cross-origin isolated (default true); false: one thread */
  wasmThreads?: boolean;
  checkpointUrl?: string;
  /** The shipped SFT starting point (the pretrained checkpoint after a long SFT run), loaded on request. */
  sftCheckpointUrl?: string;
  /** The task-pretrained mini checkpoint (the shipped model continued on a corpus with task texts), loaded on request. */
  tasksCheckpointUrl?: string;
  /** Restore the autosaved session (default true). */
  restore?: boolean;
}

/** The status, and the autosave restored (when it was saved; stages that could not be recreated, and why). */
export type InitResult = EngineStatus & { restored: { savedAt: number; skipped: string[] } | null };

/**
 * Picks the backend, opens storage (or runs without), loads the shipped checkpoint (or a fresh model when
 * it is missing), the built-in corpus, the stored rankings and the autosave. `startPulse` gives the UI's
 * watchdog its signals; the debug hooks fake faults for the browser tests.
 */
export interface EngineInit {
  init(options: InitOptions, onEvent: (e: EngineEvent) => void): Promise<InitResult>;
  /** Replaces the model with a shipped checkpoint: the pretrained one, the SFT starting point, or the task-pretrained one. */
  loadShipped(which?: ShippedCheckpoint): Promise<unknown>;
  /** A nested worker posts on `port` every 250 ms while this worker lives, however busy its thread is; this thread beats on `heart` every 500 ms. */
  startPulse(port: MessagePort, heart: MessagePort): void;
  /** Destroys the WebGPU device, as a driver reset would; false when the backend is not WebGPU. */
  debugLoseDevice(): boolean;
  /** Blocks the worker's thread for ms. */
  debugHang(ms: number): void;
}

type PublicApi<S> = { [K in keyof S as S[K] extends (...args: never[]) => unknown ? K : never]: S[K] };

export type EngineApi = PublicApi<Session> & EngineInit;
