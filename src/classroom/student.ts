/**
 * A student's side of a class: joins the room's Yjs document, says hello in its own area, shows the first open task
 * of its seat, and writes each ranking under `r:<taskId>` in its own area. What it writes carries its HMAC and what
 * it believes carries the lecturer's (identity.ts): a seat, task or ranking that someone else wrote is not taken for
 * the lecturer's or its own, and its own entries are put back when someone overwrites them. Re-sending is harmless:
 * the lecturer keys answers by student and task. Runs in the student page and in Node (load test). No tfjs.
 */
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import { HEX32_PATTERN, type JoinParams } from './codes';
import { connectDoc } from './connect';
import { HELLO_KEY, RANKING_PREFIX, seatsMap, studentArea, tasksMap } from './doc';
import {
  helloParts,
  macMatches,
  macOf,
  newKeyPair,
  publicKeyOf,
  rankingParts,
  seatParts,
  sharedKey,
  studentIdOf,
  taskDigest,
} from './identity';
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
  /** the lecturer has taken this page's hello */
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

/** What a student keeps in its own storage for one room: its secret key (its student id follows from it). */
interface StoredIdentity {
  secretKey: string;
  alias: string;
}

function storeKey(room: string): string {
  return `rlhf-classroom:${room}`;
}

function loadIdentity(store: KeyValueStore, room: string): StoredIdentity | null {
  try {
    const value = JSON.parse(store.getItem(storeKey(room)) ?? 'null') as Partial<StoredIdentity> | null;
    if (value && typeof value.secretKey === 'string' && HEX32_PATTERN.test(value.secretKey)) {
      return { secretKey: value.secretKey, alias: typeof value.alias === 'string' ? value.alias : '' };
    }
  } catch {
    // a broken entry: join as a new student
  }
  return null;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export class StudentClient {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly studentId: string;
  private readonly room: string;
  private readonly store: KeyValueStore;
  private readonly secretKey: string;
  private readonly publicKey: string;
  /** shared with the lecturer: HMACs in both directions */
  private readonly key: Uint8Array;
  private alias: string;
  private helloAt = 0;
  /** this page's own entries by key, put back when someone overwrites them */
  private readonly own = new Map<string, HelloEntry | RankingEntry>();
  /** HMAC checks by value (Yjs hands out the same object for the same stored value) */
  private readonly checked = new WeakMap<object, boolean>();
  /** the newest seat that carried the lecturer's HMAC */
  private trustedSeat: PublishedSeat | null = null;
  /** tasks whose digest a trusted seat named */
  private readonly trustedTasks = new Map<string, RankingTask>();
  private readonly listeners = new Set<(s: StudentSnapshot) => void>();

  constructor(options: StudentOptions) {
    this.room = options.room;
    this.store = options.store;
    const stored = loadIdentity(options.store, options.room);
    this.secretKey = stored?.secretKey ?? newKeyPair().secretKey;
    this.publicKey = publicKeyOf(this.secretKey);
    this.studentId = studentIdOf(this.publicKey);
    const key = sharedKey(this.secretKey, options.lecturer);
    if (!key) throw new Error("the join link's lecturer key is not a usable key");
    this.key = key;
    this.alias = (options.alias ?? stored?.alias ?? '').slice(0, MAX_ALIAS_CHARS);
    this.saveIdentity();
    this.provider = connectDoc(this.doc, { serverUrl: options.ws, room: options.room, WebSocketImpl: options.WebSocketImpl });
    this.provider.awareness.setLocalState({ studentId: this.studentId });
    this.provider.on('sync', (synced: boolean) => this.onSync(synced));
    this.provider.on('status', () => this.notify());
    this.doc.on('update', () => this.notify());
    this.area.observe((event) => {
      if (!event.transaction.local) this.putBackOwn(event.keysChanged);
    });
  }

  get area(): Y.Map<unknown> {
    return studentArea(this.doc, this.studentId);
  }

  private saveIdentity(): void {
    this.store.setItem(storeKey(this.room), JSON.stringify({ secretKey: this.secretKey, alias: this.alias }));
  }

  /** The hello goes out once the room's state is in, so a reloaded page knows its earlier answers first. */
  private onSync(synced: boolean): void {
    if (synced && this.helloAt === 0) {
      for (const key of this.area.keys()) {
        const value = this.area.get(key);
        if (this.isOwn(key, value)) this.own.set(key, value as HelloEntry | RankingEntry);
      }
      this.sendHello();
    }
    this.notify();
  }

  /** A hello newer than any this student sent before (the lecturer ignores older ones). */
  private sendHello(): void {
    const earlier = this.own.get(HELLO_KEY) as HelloEntry | undefined;
    this.helloAt = Math.max(Date.now(), this.helloAt + 1, (earlier?.at ?? 0) + 1, (this.seat()?.hello ?? 0) + 1);
    const unsigned = { alias: this.alias, key: this.publicKey, at: this.helloAt };
    this.write(HELLO_KEY, { ...unsigned, mac: macOf(this.key, helloParts(this.room, this.studentId, unsigned)) });
  }

  private write(key: string, entry: HelloEntry | RankingEntry): void {
    this.own.set(key, entry);
    this.area.set(key, entry);
  }

  /** Someone else changed keys of this area: each one that held an entry of this student's gets it back. */
  private putBackOwn(keys: Set<string>): void {
    for (const key of keys) {
      const mine = this.own.get(key);
      if (mine && !this.isOwn(key, this.area.get(key))) this.area.set(key, mine);
    }
  }

  /** True when `value` under `key` carries this student's HMAC. */
  private isOwn(key: string, value: unknown): boolean {
    if (!isRecord(value)) return false;
    if (key === HELLO_KEY)
      return (
        value.key === this.publicKey && this.hasMac(value, () => helloParts(this.room, this.studentId, value as unknown as HelloEntry))
      );
    const entry = value as unknown as RankingEntry;
    return key === RANKING_PREFIX + entry.taskId && this.hasMac(value, () => rankingParts(this.room, this.studentId, entry));
  }

  private hasMac(value: Record<string, unknown>, parts: () => unknown[]): boolean {
    let ok = this.checked.get(value);
    if (ok === undefined) this.checked.set(value, (ok = macMatches(this.key, parts(), value.mac)));
    return ok;
  }

  /** A new alias: kept, and sent with a new hello. */
  setAlias(alias: string): void {
    this.alias = alias.trim().slice(0, MAX_ALIAS_CHARS);
    this.saveIdentity();
    if (this.helloAt > 0) this.sendHello();
  }

  /** The newest seat the lecturer wrote for this student; an older or unsigned one someone wrote back is passed over. */
  private seat(): PublishedSeat | null {
    const value = seatsMap(this.doc).get(this.studentId) as unknown;
    if (value !== this.trustedSeat && isRecord(value) && typeof value.v === 'number' && value.v > (this.trustedSeat?.v ?? 0)) {
      const seat = value as unknown as PublishedSeat;
      if (this.hasMac(value, () => seatParts(this.room, this.studentId, seat))) this.trustedSeat = seat;
    }
    return this.trustedSeat;
  }

  /** The task as the lecturer published it (its digest is the one the seat names), or null. */
  private task(taskId: string, digest: string): RankingTask | null {
    const known = this.trustedTasks.get(taskId);
    if (known) return known;
    const value = tasksMap(this.doc).get(taskId) as unknown;
    if (!isRecord(value)) return null;
    const { id, prompt, completions, iteration } = value as unknown as RankingTask;
    const task: RankingTask = { id, prompt, completions, iteration };
    if (id !== taskId || taskDigest(task) !== digest) return null;
    this.trustedTasks.set(taskId, task);
    return task;
  }

  private answered(taskId: string): boolean {
    const key = RANKING_PREFIX + taskId;
    return this.isOwn(key, this.area.get(key));
  }

  /** The first task of the seat that this student has not answered yet. */
  currentTask(): RankingTask | null {
    const seat = this.seat();
    for (const [i, taskId] of (seat?.open ?? []).entries()) {
      if (this.answered(taskId)) continue;
      const task = this.task(taskId, seat!.digests[i]);
      if (task) return task;
    }
    return null;
  }

  /** Writes the order (completion indices, best first) for a task. Returns false when there is nothing to answer. */
  submit(taskId: string, order: number[]): boolean {
    const seat = this.seat();
    if (!seat || seat.removed || seat.paused || !seat.open.includes(taskId)) return false;
    const unsigned = { taskId, order: [...order], submittedAt: Date.now() };
    this.write(RANKING_PREFIX + taskId, { ...unsigned, mac: macOf(this.key, rankingParts(this.room, this.studentId, unsigned)) });
    return true;
  }

  snapshot(): StudentSnapshot {
    const seat = this.seat();
    let submitted = 0;
    for (const [key, value] of this.area.entries()) if (key.startsWith(RANKING_PREFIX) && this.isOwn(key, value)) submitted++;
    return {
      studentId: this.studentId,
      alias: this.alias,
      connected: this.provider.wsconnected,
      synced: this.provider.synced,
      paused: seat?.paused === true,
      removed: seat?.removed === true,
      seated: this.helloAt > 0 && seat?.hello === this.helloAt,
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
