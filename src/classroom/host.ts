/**
 * The lecturer's side of a class: publishes tasks from the engine to the students' seats, takes their rankings in
 * (validated, in short slices), hands accepted ones to the engine, and keeps the figures the lecturer sees.
 *
 * Where truth lives: accepted rankings live here (keyed by `${studentId}:${taskId}`) and in the engine, never only in
 * the shared document. The document is a mailbox that any client of the room can write into, under any Yjs client
 * id: an entry counts only with its student's HMAC, each seat goes out with the lecturer's (identity.ts), and the host
 * keeps its own copy of everything it publishes and puts it back when someone else overwrites it.
 */
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import type { Ranking } from '../lib/rlhf/rankings';
import { AgreementTally } from './agreement';
import { STUDENT_ID_PATTERN, newRoomCode } from './codes';
import { connectDoc } from './connect';
import { AREA_PREFIX, HELLO_KEY, LECTURER_MAPS, RANKING_PREFIX, TASKS_MAP, rootName, safeGetMap, seatsMap, tasksMap } from './doc';
import { macOf, newKeyPair, seatParts, taskDigest } from './identity';
import {
  REFUSAL_REASONS,
  annotatorOf,
  claimSeat,
  judgeRanking,
  readHello,
  readRankingEntry,
  type RefusalReason,
  type Seat,
} from './intake';
import { SlicedQueue } from './slicedQueue';
import { toTrlJsonl } from './trlExport';
import {
  ASSIGNEES_PER_TASK,
  OPEN_TASKS_PER_STUDENT,
  type AcceptedRanking,
  type PublishedSeat,
  type PublishedTask,
  type RankingTask,
} from './types';

/** What the classroom needs from the training engine (the lead wires the real one in). */
export interface ClassroomEngine {
  /** K completions of a fresh prompt from the current policy */
  nextTask(k: number): Promise<RankingTask>;
  /** One accepted student ranking: into the ranking store, the reward model's online update, and PPO's next iteration. */
  submitRanking(ranking: { id: string; taskId: string; order: number[]; annotator: string; ranking: Ranking }): Promise<void>;
  /** The reward model's held-out pair accuracy, null before it has one */
  rewardAccuracy(): number | null;
}

export interface HostOptions {
  serverUrl: string;
  room?: string;
  /** query parameters of the websocket url: the lecturer token (see lecturerRoom.ts) */
  params?: Record<string, string>;
  k?: number;
  assigneesPerTask?: number;
  WebSocketImpl?: unknown;
  /** ms a slice of intake may run before the event loop gets a turn */
  sliceMs?: number;
}

export interface StudentRow {
  studentId: string;
  alias: string;
  accepted: number;
  refused: number;
  open: number;
  removed: boolean;
  online: boolean;
}

export interface HostSnapshot {
  room: string;
  connected: boolean;
  paused: boolean;
  k: number;
  students: StudentRow[];
  tasksPublished: number;
  accepted: number;
  refused: Record<RefusalReason, number>;
  /** answers seen again after acceptance (reconnects, resends): ignored */
  repeats: number;
  /** writes by others into the lecturer's maps, put back */
  tamper: number;
  agreement: number | null;
  agreementPairs: number;
  rewardAccuracy: number | null;
  /** messages waiting for validation */
  pendingIntake: number;
  /** main-thread ms the lecturer spent judging messages (and publishing the resulting seats and tasks) */
  intakeBusyMs: number;
  /** accepted rankings not yet taken by the engine */
  engineQueue: number;
  /** student submit -> lecturer's engine queue, ms */
  latency: { median: number | null; p95: number | null; n: number };
  lastError: string | null;
}

interface IntakeItem {
  root: string;
  key: string;
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export class ClassroomHost {
  readonly room: string;
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  /** the lecturer's public key for this class: it goes into the join link */
  readonly lecturerKey: string;
  private readonly secretKey: string;
  private readonly engine: ClassroomEngine;
  private readonly k: number;
  private readonly assigneesPerTask: number;
  private readonly intake: SlicedQueue<IntakeItem>;
  private readonly seats = new Map<string, Seat>();
  private readonly ownTasks = new Map<string, PublishedTask>();
  private readonly ownSeats = new Map<string, PublishedSeat>();
  private readonly digests = new Map<string, string>();
  private readonly accepted = new Map<string, AcceptedRanking>();
  private readonly refusedBy = new Map<string, number>();
  private readonly refused = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
  private readonly tally = new AgreementTally();
  private readonly latencies: number[] = [];
  private readonly waitingForTask: string[] = [];
  private readonly listeners = new Set<(s: HostSnapshot) => void>();
  private paused = false;
  private repeats = 0;
  private tamper = 0;
  private engineQueue = 0;
  private engineChain: Promise<void> = Promise.resolve();
  private taskInFlight = false;
  private lastError: string | null = null;
  private notifyTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(engine: ClassroomEngine, options: HostOptions) {
    this.engine = engine;
    this.room = options.room ?? newRoomCode();
    ({ publicKey: this.lecturerKey, secretKey: this.secretKey } = newKeyPair());
    this.k = options.k ?? 4;
    this.assigneesPerTask = options.assigneesPerTask ?? ASSIGNEES_PER_TASK;
    this.intake = new SlicedQueue(
      (item) => this.handle(item),
      options.sliceMs ?? 8,
      () => this.changed(),
      (work) => this.doc.transact(work), // a slice's seat and task updates leave as one Yjs update
    );
    this.doc.on('afterTransaction', (tr: Y.Transaction) => this.collect(tr));
    this.provider = connectDoc(this.doc, {
      serverUrl: options.serverUrl,
      room: this.room,
      params: options.params,
      WebSocketImpl: options.WebSocketImpl,
    });
    this.provider.awareness.setLocalState({ role: 'lecturer' });
    this.provider.on('status', () => this.changed());
    this.provider.awareness.on('change', () => this.changed());
  }

  // ---------------------------------------------------------------- lecturer controls

  pause(): void {
    this.paused = true;
    this.intake.hold();
    this.republishSeats();
    this.notifyNow();
  }

  resume(): void {
    this.paused = false;
    this.intake.release();
    this.republishSeats();
    for (const id of this.seats.keys()) this.refill(id);
    this.notifyNow();
  }

  /** The student's answers are refused from now on and it gets no more tasks. */
  remove(studentId: string): void {
    const seat = this.seats.get(studentId);
    if (!seat) return;
    seat.removed = true;
    this.publishSeat(studentId, { open: [], removed: true });
    this.notifyNow();
  }

  /** All accepted rankings as TRL pairs with their annotator. */
  exportTrlJsonl(): string {
    const rankings = [...this.accepted.values()].map((a) => ({ ...a, alias: this.seats.get(a.studentId)?.alias ?? '' }));
    return toTrlJsonl(rankings, this.ownTasks);
  }

  acceptedRankings(): AcceptedRanking[] {
    return [...this.accepted.values()];
  }

  /** Resolves once every accepted ranking so far has been handed to the engine. */
  async drained(): Promise<void> {
    while (this.intake.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.engineChain;
  }

  onChange(listener: (s: HostSnapshot) => void): () => void {
    this.listeners.add(listener);
    listener(this.snapshot());
    return () => this.listeners.delete(listener);
  }

  stop(): void {
    if (this.notifyTimer) clearTimeout(this.notifyTimer);
    this.listeners.clear();
    this.provider.destroy();
    this.doc.destroy();
  }

  snapshot(): HostSnapshot {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    return {
      room: this.room,
      connected: this.provider.wsconnected,
      paused: this.paused,
      k: this.k,
      students: this.studentRows(),
      tasksPublished: this.ownTasks.size,
      accepted: this.accepted.size,
      refused: { ...this.refused },
      repeats: this.repeats,
      tamper: this.tamper,
      agreement: this.tally.rate(),
      agreementPairs: this.tally.pairs,
      rewardAccuracy: this.engine.rewardAccuracy(),
      pendingIntake: this.intake.length,
      intakeBusyMs: this.intake.busyMs,
      engineQueue: this.engineQueue,
      latency: { median: quantile(sorted, 0.5), p95: quantile(sorted, 0.95), n: sorted.length },
      lastError: this.lastError,
    };
  }

  // ---------------------------------------------------------------- intake

  /** Remote writes are only noted here; the sliced queue judges them. */
  private collect(tr: Y.Transaction): void {
    if (tr.local) return;
    for (const [type, keys] of tr.changed) {
      if (type._item !== null) continue; // nested types: never part of the layout
      const root = rootName(this.doc, type);
      if (root === null) continue;
      for (const key of keys) {
        if (key === null) this.refuse('malformed', root);
        else this.intake.push({ root, key });
      }
    }
  }

  private handle({ root, key }: IntakeItem): void {
    if ((LECTURER_MAPS as readonly string[]).includes(root)) return this.restore(root, key);
    const studentId = root.startsWith(AREA_PREFIX) ? root.slice(AREA_PREFIX.length) : '';
    const area = STUDENT_ID_PATTERN.test(studentId) ? safeGetMap(this.doc, root) : null;
    if (!area) return this.refuse('malformed', root);
    if (key === HELLO_KEY) return this.handleHello(studentId, area);
    if (key.startsWith(RANKING_PREFIX)) return this.handleRanking(studentId, area, key);
    this.refuse('malformed', studentId);
  }

  private handleHello(studentId: string, area: Y.Map<unknown>): void {
    const hello = readHello(area.get(HELLO_KEY));
    if (!hello.ok) return this.refuse(hello.reason, null);
    const before = this.seats.get(studentId);
    const claim = claimSeat(before, studentId, hello.value, this.room, this.secretKey);
    if (!claim.ok) return this.refuse(claim.reason, null);
    if (before && claim.value.helloAt === before.helloAt) return; // the same hello again
    this.seats.set(studentId, claim.value);
    this.publishSeat(studentId, { hello: claim.value.helloAt });
    if (!before) this.requeueRankings(studentId, area);
    this.refill(studentId);
  }

  /** Answers written before their student's first hello was judged get a second look. */
  private requeueRankings(studentId: string, area: Y.Map<unknown>): void {
    for (const key of area.keys()) if (key.startsWith(RANKING_PREFIX)) this.intake.push({ root: AREA_PREFIX + studentId, key });
  }

  private handleRanking(studentId: string, area: Y.Map<unknown>, key: string): void {
    const entry = readRankingEntry(key, area.get(key));
    if (!entry.ok) return this.refuse(entry.reason, null);
    const verdict = judgeRanking(entry.value, this.seats.get(studentId), this.ownTasks.get(entry.value.taskId), this.room);
    if (!verdict.ok && verdict.reason === 'forged') return this.refuse('forged', null);
    if (this.accepted.has(`${studentId}:${entry.value.taskId}`)) {
      this.repeats++;
      return;
    }
    if (!verdict.ok) return this.refuse(verdict.reason, studentId);
    this.accept(verdict.value, entry.value.submittedAt, studentId);
  }

  private accept(ranking: Ranking, submittedAt: number, studentId: string): void {
    const taskId = ranking.id.slice(studentId.length + 1);
    const record: AcceptedRanking = {
      id: ranking.id,
      taskId,
      order: ranking.order,
      annotator: annotatorOf(studentId),
      studentId,
      submittedAt,
      acceptedAt: Date.now(),
    };
    this.accepted.set(record.id, record);
    this.latencies.push(record.acceptedAt - submittedAt);
    this.tally.add(taskId, ranking.order);
    const seat = this.ownSeats.get(studentId);
    this.publishSeat(studentId, { open: (seat?.open ?? []).filter((t) => t !== taskId), accepted: (seat?.accepted ?? 0) + 1 });
    this.toEngine(record, ranking);
    this.refill(studentId);
  }

  private toEngine(record: AcceptedRanking, ranking: Ranking): void {
    this.engineQueue++;
    this.engineChain = this.engineChain
      .then(() =>
        this.engine.submitRanking({ id: record.id, taskId: record.taskId, order: record.order, annotator: record.annotator, ranking }),
      )
      .catch((e: unknown) => {
        this.lastError = `engine refused ${record.id}: ${e instanceof Error ? e.message : String(e)}`;
      })
      .finally(() => {
        this.engineQueue--;
        this.changed();
      });
  }

  /** Counted for the class; for the student too when the entry is proven its own (`studentId` not null). */
  private refuse(reason: RefusalReason, studentId: string | null): void {
    this.refused[reason]++;
    if (studentId !== null) this.refusedBy.set(studentId, (this.refusedBy.get(studentId) ?? 0) + 1);
  }

  /** Someone else wrote into a lecturer map: put the lecturer's value back (compared by value: a Yjs client id proves nothing). */
  private restore(root: string, key: string): void {
    const map = safeGetMap(this.doc, root);
    const own = root === TASKS_MAP ? this.ownTasks.get(key) : this.ownSeats.get(key);
    if (!map || JSON.stringify(map.get(key)) === JSON.stringify(own)) return;
    this.tamper++;
    this.doc.transact(() => (own === undefined ? map.delete(key) : map.set(key, own)));
  }

  // ---------------------------------------------------------------- publishing

  /** A new version of the student's seat, with the digests of its open tasks and the HMAC under the student's key. */
  private publishSeat(studentId: string, change: Partial<Pick<PublishedSeat, 'open' | 'accepted' | 'removed' | 'hello'>>): void {
    const key = this.seats.get(studentId)?.key;
    if (!key) return;
    const previous = this.ownSeats.get(studentId);
    const { open, accepted, removed, hello } = { open: [], accepted: 0, removed: false, hello: 0, ...previous, ...change };
    const digests = open.map((taskId) => this.digests.get(taskId) ?? '');
    const unsigned = { v: (previous?.v ?? 0) + 1, open, digests, accepted, removed, paused: this.paused, hello };
    const seat: PublishedSeat = { ...unsigned, mac: macOf(key, seatParts(this.room, studentId, unsigned)) };
    this.ownSeats.set(studentId, seat);
    seatsMap(this.doc).set(studentId, seat);
  }

  /** Every seat again, in one update: `paused` changed. */
  private republishSeats(): void {
    this.doc.transact(() => {
      for (const studentId of this.ownSeats.keys()) this.publishSeat(studentId, {});
    });
  }

  private publishTask(task: PublishedTask): void {
    if (!this.digests.has(task.id)) this.digests.set(task.id, taskDigest(task));
    this.ownTasks.set(task.id, task);
    tasksMap(this.doc).set(task.id, task);
  }

  /** Tops up a student's open tasks: a seat on a task others have, else a fresh task from the engine. */
  private refill(studentId: string): void {
    const seat = this.seats.get(studentId);
    const published = this.ownSeats.get(studentId);
    if (this.paused || !seat || seat.removed || !published || published.open.length >= OPEN_TASKS_PER_STUDENT) return;
    const vacancy = this.findVacancy(studentId);
    if (vacancy) return this.assign(vacancy, studentId);
    if (!this.waitingForTask.includes(studentId)) this.waitingForTask.push(studentId);
    void this.requestTask();
  }

  /** A task with a free seat, from the newest policy only: older tasks are not handed out again. */
  private findVacancy(studentId: string): PublishedTask | undefined {
    let newest = -Infinity;
    for (const task of this.ownTasks.values()) newest = Math.max(newest, task.iteration);
    for (const task of this.ownTasks.values()) {
      if (task.iteration === newest && task.assignees.length < this.assigneesPerTask && !task.assignees.includes(studentId)) return task;
    }
    return undefined;
  }

  private assign(task: PublishedTask, studentId: string): void {
    this.publishTask({ ...task, assignees: [...task.assignees, studentId] });
    const open = this.ownSeats.get(studentId)?.open ?? [];
    this.publishSeat(studentId, { open: [...open, task.id] });
    this.changed();
  }

  /** One engine request at a time; each new task is offered to the students waiting longest. */
  private async requestTask(): Promise<void> {
    if (this.taskInFlight) return;
    this.taskInFlight = true;
    try {
      while (this.waitingForTask.length > 0 && !this.paused) {
        const task = await this.engine.nextTask(this.k);
        if (this.ownTasks.has(task.id)) throw new Error(`engine gave task ${task.id} twice`);
        this.publishTask({ ...task, assignees: [], publishedAt: Date.now() });
        const waiting = this.waitingForTask.splice(0, this.waitingForTask.length);
        for (const id of waiting) this.refill(id);
      }
    } catch (e) {
      this.lastError = `no task from the engine: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      this.taskInFlight = false;
      this.changed();
    }
  }

  // ---------------------------------------------------------------- figures

  private onlineStudents(): Set<string> {
    const online = new Set<string>();
    for (const state of this.provider.awareness.getStates().values()) {
      const id = (state as { studentId?: unknown }).studentId;
      if (typeof id === 'string') online.add(id);
    }
    return online;
  }

  private studentRows(): StudentRow[] {
    const online = this.onlineStudents();
    return [...this.seats.values()].map((seat) => ({
      studentId: seat.studentId,
      alias: seat.alias,
      accepted: this.ownSeats.get(seat.studentId)?.accepted ?? 0,
      refused: this.refusedBy.get(seat.studentId) ?? 0,
      open: this.ownSeats.get(seat.studentId)?.open.length ?? 0,
      removed: seat.removed,
      online: online.has(seat.studentId),
    }));
  }

  /** The lecturer's own actions show at once. */
  private notifyNow(): void {
    if (this.notifyTimer) clearTimeout(this.notifyTimer);
    this.notifyTimer = null;
    const snap = this.snapshot();
    for (const l of this.listeners) l(snap);
  }

  /** Listeners hear at most every 250 ms, so a burst costs one re-render. */
  private changed(): void {
    if (this.notifyTimer || this.listeners.size === 0) return;
    this.notifyTimer = setTimeout(() => {
      this.notifyTimer = null;
      const snap = this.snapshot();
      for (const l of this.listeners) l(snap);
    }, 250);
  }
}
