/**
 * A student's side of a class: joins the room's Yjs document, claims its answer area (hello), shows the first open
 * task of its seat, and writes each ranking under `r:<taskId>` in its own area. Re-sending is harmless: the
 * lecturer keys answers by student and task. Runs in the student page and in Node (load test). No tfjs.
 */
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import { newStudentId, type JoinParams } from './codes';
import { connectDoc } from './connect';
import { HELLO_KEY, RANKING_PREFIX, classMap, seatsMap, studentArea, tasksMap } from './doc';
import { nextLink, type StoredIdentity } from './identity';
import { MAX_ALIAS_CHARS, type HelloEntry, type PublishedSeat, type RankingEntry, type RankingTask } from './types';

/** Where a student keeps its identity (localStorage in the page, a Map in tests). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface StudentSnapshot {
  studentId: string;
  alias: string;
  connected: boolean;
  synced: boolean;
  paused: boolean;
  removed: boolean;
  /** the lecturer has taken this page's client as the student's */
  seated: boolean;
  task: RankingTask | null;
  /** answers this student wrote */
  submitted: number;
  /** answers the lecturer accepted */
  accepted: number;
}

export interface StudentOptions extends JoinParams {
  store: KeyValueStore;
  alias?: string;
  WebSocketImpl?: unknown;
}

function storeKey(room: string): string {
  return `rlhf-classroom:${room}`;
}

function loadIdentity(store: KeyValueStore, room: string): StoredIdentity | null {
  try {
    const value = JSON.parse(store.getItem(storeKey(room)) ?? 'null') as Partial<StoredIdentity> | null;
    if (value && typeof value.studentId === 'string' && typeof value.secret === 'string') {
      return { studentId: value.studentId, secret: value.secret, alias: typeof value.alias === 'string' ? value.alias : '' };
    }
  } catch {
    // a broken entry: join as a new student
  }
  return null;
}

export class StudentClient {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly studentId: string;
  private readonly room: string;
  private readonly store: KeyValueStore;
  private readonly previousSecret: string | undefined;
  private alias: string;
  private helloSent = false;
  private readonly listeners = new Set<(s: StudentSnapshot) => void>();

  constructor(options: StudentOptions) {
    this.room = options.room;
    this.store = options.store;
    const stored = loadIdentity(options.store, options.room);
    this.studentId = stored?.studentId ?? newStudentId();
    this.previousSecret = stored?.secret;
    this.alias = (options.alias ?? stored?.alias ?? '').slice(0, MAX_ALIAS_CHARS);
    this.provider = connectDoc(this.doc, { serverUrl: options.ws, room: options.room, WebSocketImpl: options.WebSocketImpl });
    this.provider.awareness.setLocalState({ studentId: this.studentId });
    this.provider.on('sync', (synced: boolean) => this.onSync(synced));
    this.provider.on('status', () => this.notify());
    this.doc.on('update', () => this.notify());
  }

  get area(): Y.Map<unknown> {
    return studentArea(this.doc, this.studentId);
  }

  /** The hello goes out once the room's state is in, so a reloaded page knows its earlier answers first. */
  private onSync(synced: boolean): void {
    if (synced && !this.helloSent) this.sendHello();
    this.notify();
  }

  private sendHello(): void {
    const link = nextLink(this.previousSecret);
    const hello: HelloEntry = { alias: this.alias, commit: link.commit };
    if (link.reveal !== undefined) hello.reveal = link.reveal;
    this.store.setItem(storeKey(this.room), JSON.stringify({ studentId: this.studentId, secret: link.secret, alias: this.alias }));
    this.area.set(HELLO_KEY, hello);
    this.helloSent = true;
  }

  /** A new alias: kept, and sent with a hello that changes nothing else. */
  setAlias(alias: string): void {
    this.alias = alias.trim().slice(0, MAX_ALIAS_CHARS);
    const current = this.area.get(HELLO_KEY) as HelloEntry | undefined;
    if (!current) return;
    const identity = loadIdentity(this.store, this.room);
    if (identity) this.store.setItem(storeKey(this.room), JSON.stringify({ ...identity, alias: this.alias }));
    this.area.set(HELLO_KEY, { alias: this.alias, commit: current.commit });
  }

  private seat(): PublishedSeat | undefined {
    return seatsMap(this.doc).get(this.studentId);
  }

  /** The first task of the seat that this student has not answered yet. */
  currentTask(): RankingTask | null {
    const tasks = tasksMap(this.doc);
    for (const taskId of this.seat()?.open ?? []) {
      if (this.area.has(RANKING_PREFIX + taskId)) continue;
      const task = tasks.get(taskId);
      if (task) return { id: task.id, prompt: task.prompt, completions: task.completions, iteration: task.iteration };
    }
    return null;
  }

  /** Writes the order (completion indices, best first) for a task. Returns false when there is nothing to answer. */
  submit(taskId: string, order: number[]): boolean {
    const seat = this.seat();
    if (!seat || seat.removed || classMap(this.doc).get('paused') === true || !seat.open.includes(taskId)) return false;
    const entry: RankingEntry = { taskId, order: [...order], submittedAt: Date.now() };
    this.area.set(RANKING_PREFIX + taskId, entry);
    return true;
  }

  snapshot(): StudentSnapshot {
    const seat = this.seat();
    let submitted = 0;
    for (const key of this.area.keys()) if (key.startsWith(RANKING_PREFIX)) submitted++;
    return {
      studentId: this.studentId,
      alias: this.alias,
      connected: this.provider.wsconnected,
      synced: this.provider.synced,
      paused: classMap(this.doc).get('paused') === true,
      removed: seat?.removed === true,
      seated: seat?.client === this.doc.clientID,
      task: this.currentTask(),
      submitted,
      accepted: seat?.accepted ?? 0,
    };
  }

  onChange(listener: (s: StudentSnapshot) => void): () => void {
    this.listeners.add(listener);
    listener(this.snapshot());
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    if (this.listeners.size === 0) return;
    const snap = this.snapshot();
    for (const l of this.listeners) l(snap);
  }

  stop(): void {
    this.listeners.clear();
    this.provider.destroy();
    this.doc.destroy();
  }
}
