/**
 * Validation glue: judges one untrusted entry from a student's area against the lecturer's own records.
 * The ranking is rebuilt from the lecturer's copy of the task (a student sends only taskId and order) and goes
 * through `validateRanking`, the same check as a file import. Pure: no Yjs, no clock, no DOM.
 */
import { validateRanking, type Ranking } from '../lib/rlhf/rankings';
import { COMMIT_PATTERN, opensCommit } from './identity';
import { MAX_ALIAS_CHARS, MAX_ENTRY_CHARS, type HelloEntry, type PublishedTask, type RankingEntry } from './types';

export type RefusalReason = 'malformed' | 'oversized' | 'unknown-task' | 'not-assigned' | 'forged' | 'removed';
export const REFUSAL_REASONS: readonly RefusalReason[] = ['malformed', 'oversized', 'unknown-task', 'not-assigned', 'forged', 'removed'];

/** The lecturer's record of one student. */
export interface Seat {
  studentId: string;
  alias: string;
  /** Yjs clients allowed to write in this student's area */
  clients: Set<number>;
  commit: string;
  removed: boolean;
}

export type Verdict<T> = { ok: true; value: T } | { ok: false; reason: RefusalReason; detail: string };

const refuse = (reason: RefusalReason, detail: string): { ok: false; reason: RefusalReason; detail: string } => ({
  ok: false,
  reason,
  detail,
});

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** JSON length of a value, or Infinity for what JSON cannot hold (cycles do not come out of Yjs, but be safe). */
function jsonLength(x: unknown): number {
  try {
    return JSON.stringify(x)?.length ?? 0;
  } catch {
    return Infinity;
  }
}

/** Shape of a hello: alias, commit, optional reveal. */
export function readHello(raw: unknown): Verdict<HelloEntry> {
  if (jsonLength(raw) > MAX_ENTRY_CHARS) return refuse('oversized', 'hello too large');
  if (!isRecord(raw)) return refuse('malformed', 'hello is not an object');
  const { alias, commit, reveal } = raw;
  if (typeof alias !== 'string' || alias.length > MAX_ALIAS_CHARS) return refuse('malformed', 'alias must be a short string');
  if (typeof commit !== 'string' || !COMMIT_PATTERN.test(commit)) return refuse('malformed', 'commit must be 64 hex digits');
  if (reveal !== undefined && typeof reveal !== 'string') return refuse('malformed', 'reveal must be a string');
  const hello: HelloEntry = { alias: alias.trim(), commit };
  if (typeof reveal === 'string') hello.reveal = reveal;
  return { ok: true, value: hello };
}

/**
 * Who may write this area after `hello` from `writer`: a new seat (first come), the same client again
 * (alias update), or a reloaded page that opened the commit. Anything else is forged.
 */
export function claimSeat(seat: Seat | undefined, studentId: string, hello: HelloEntry, writer: number): Verdict<Seat> {
  if (!seat)
    return { ok: true, value: { studentId, alias: hello.alias, clients: new Set([writer]), commit: hello.commit, removed: false } };
  if (seat.clients.has(writer)) return { ok: true, value: { ...seat, alias: hello.alias } };
  if (!opensCommit(hello.reveal, seat.commit))
    return refuse('forged', `client ${writer} wrote a hello for ${studentId} without its secret`);
  return { ok: true, value: { ...seat, alias: hello.alias, clients: new Set([writer]), commit: hello.commit } };
}

/** Shape of a ranking entry stored under `r:<taskId>`. */
export function readRankingEntry(key: string, raw: unknown): Verdict<RankingEntry> {
  if (jsonLength(raw) > MAX_ENTRY_CHARS) return refuse('oversized', `${key} too large`);
  if (!isRecord(raw)) return refuse('malformed', `${key} is not an object`);
  const { taskId, order, submittedAt } = raw;
  if (typeof taskId !== 'string' || key !== `r:${taskId}`) return refuse('malformed', `${key} does not name its task`);
  if (!Array.isArray(order)) return refuse('malformed', `${key}: order must be an array`);
  if (typeof submittedAt !== 'number' || !Number.isFinite(submittedAt)) return refuse('malformed', `${key}: submittedAt must be a number`);
  return { ok: true, value: { taskId, order: [...order] as number[], submittedAt } };
}

/** Annotator of a student's rankings: stable across aliases and reloads. */
export function annotatorOf(studentId: string): string {
  return `classroom:${studentId}`;
}

/** A ranking entry against the seat and the lecturer's task: the clean Ranking, or why not. */
export function judgeRanking(
  entry: RankingEntry,
  seat: Seat | undefined,
  writer: number | null,
  task: PublishedTask | undefined,
): Verdict<Ranking> {
  if (!seat || writer === null || !seat.clients.has(writer))
    return refuse('forged', `task ${entry.taskId}: writer ${writer} does not own this area`);
  if (seat.removed) return refuse('removed', `${seat.studentId} was removed`);
  if (!task) return refuse('unknown-task', `no task ${entry.taskId}`);
  if (!task.assignees.includes(seat.studentId)) return refuse('not-assigned', `task ${entry.taskId} did not go to ${seat.studentId}`);
  try {
    const ranking = validateRanking({
      id: `${seat.studentId}:${task.id}`,
      prompt: task.prompt,
      completions: task.completions,
      order: entry.order,
      createdAt: entry.submittedAt,
      source: 'user',
      labelerId: annotatorOf(seat.studentId),
    });
    return { ok: true, value: ranking };
  } catch (e) {
    return refuse('malformed', e instanceof Error ? e.message : String(e));
  }
}
