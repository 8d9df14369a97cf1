/**
 * The typed contract between the UI and the engine worker (through comlink): the session's public
 * methods, written once in src/lib/session/session.ts, plus `init`. Types only: importing this file
 * pulls no tfjs into the main thread.
 */
import type { Session } from '../src/lib/session/session';
import type { BackendName, EngineEvent, EngineStatus } from '../src/lib/types';

export interface InitOptions {
  preferredBackend?: BackendName;
  checkpointUrl?: string;
}

/** Picks the backend, loads the shipped checkpoint (or a fresh model when it is missing) and the built-in corpus. */
export interface EngineInit {
  init(options: InitOptions, onEvent: (e: EngineEvent) => void): Promise<EngineStatus>;
  loadShipped(): Promise<unknown>;
}

type PublicApi<S> = { [K in keyof S as S[K] extends (...args: never[]) => unknown ? K : never]: S[K] };

export type EngineApi = PublicApi<Session> & EngineInit;
