/**
 * Validation glue: judges one untrusted entry from a student's area against the lecturer's own records.
 * An entry counts only with the HMAC of the student whose area it is in (identity.ts); the ranking is rebuilt from
 * the lecturer's copy of the task (a student sends only taskId and order) and goes through `validateRanking`, the
 * same check as a file import. Pure: no Yjs, no clock, no DOM.
 */
import { validateRanking, type Ranking } from '../lib/rlhf/rankings';
import { HEX32_PATTERN } from './codes';
import { helloParts, macMatches, rankingParts, sharedKey, studentIdOf } from './identity';
import { MAX_ALIAS_CHARS, MAX_ENTRY_CHARS, type HelloEntry, type PublishedTask, type RankingEntry } from './types';

export type RefusalReason = 'malformed' | 'oversized' | 'unknown-task' | 'not-assigned' | 'forged' | 'removed';
export const REFUSAL_REASONS: readonly RefusalReason[] = ['malformed', 'oversized', 'unknown-task', 'not-assigned', 'forged', 'removed'];

/** The lecturer's record of one student. */
export interface Seat {
  studentId: string;
  alias: string;
  /** the student's public key, and the key the lecturer shares with it */
  publicKey: string;
  key: Uint8Array;
  /** `at` of the newest hello taken */
  helloAt: number;
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

/** Shape of a hello: alias, public key, time, HMAC. */
export function readHello(raw: unknown): Verdict<HelloEntry> {
  if (jsonLength(raw) > MAX_ENTRY_CHARS) return refuse('oversized', 'hello too large');
  if (!isRecord(raw)) return refuse('malformed', 'hello is not an object');
  const { alias, key, at, mac } = raw;
  if (typeof alias !== 'string' || alias.length > MAX_ALIAS_CHARS) return refuse('malformed', 'alias must be a short string');
  if (typeof key !== 'string' || !HEX32_PATTERN.test(key)) return refuse('malformed', 'key must be 64 hex digits');
  if (typeof at !== 'number' || !Number.isFinite(at)) return refuse('malformed', 'at must be a number');
  if (typeof mac !== 'string') return refuse('forged', 'the hello carries no HMAC');
  return { ok: true, value: { alias, key, at, mac } };
}

/**
 * The seat after `hello`: a new one for a key that hashes to `studentId`, or the same seat with a newer alias.
 * A key of another id, a wrong HMAC or a hello older than the one taken (written back by someone else) is forged.
 */
export function claimSeat(
  seat: Seat | undefined,
  studentId: string,
  hello: HelloEntry,
  room: string,
  lecturerSecret: string,
): Verdict<Seat> {
  if (studentIdOf(hello.key) !== studentId) return refuse('forged', `a hello for ${studentId} with another student's key`);
  const key = seat?.publicKey === hello.key ? seat.key : sharedKey(lecturerSecret, hello.key);
  if (!key) return refuse('forged', `the hello for ${studentId} has no usable key`);
  if (!macMatches(key, helloParts(room, studentId, hello), hello.mac))
    return refuse('forged', `the hello for ${studentId} is not from its key`);
  if (seat && hello.at < seat.helloAt) return refuse('forged', `an older hello of ${studentId} written back`);
  const alias = hello.alias.trim();
  return {
    ok: true,
    value: seat
      ? { ...seat, alias, helloAt: hello.at }
      : { studentId, alias, publicKey: hello.key, key, helloAt: hello.at, removed: false },
  };
}

/** Shape of a ranking entry stored under `r:<taskId>`. */
export function readRankingEntry(key: string, raw: unknown): Verdict<RankingEntry> {
  if (jsonLength(raw) > MAX_ENTRY_CHARS) return refuse('oversized', `${key} too large`);
  if (!isRecord(raw)) return refuse('malformed', `${key} is not an object`);
  const { taskId, order, submittedAt, mac } = raw;
  if (typeof taskId !== 'string' || key !== `r:${taskId}`) return refuse('malformed', `${key} does not name its task`);
  if (!Array.isArray(order)) return refuse('malformed', `${key}: order must be an array`);
  if (typeof submittedAt !== 'number' || !Number.isFinite(submittedAt)) return refuse('malformed', `${key}: submittedAt must be a number`);
  if (typeof mac !== 'string') return refuse('forged', `${key} carries no HMAC`);
  return { ok: true, value: { taskId, order: [...order] as number[], submittedAt, mac } };
}

/** Annotator of a student's rankings: stable across aliases and reloads. */
export function annotatorOf(studentId: string): string {
  return `classroom:${studentId}`;
}

/**
 * A ranking entry against the seat and the lecturer's task: the clean Ranking, or why not. Every refusal but
 * 'forged' is of an entry the student itself wrote.
 */
export function judgeRanking(entry: RankingEntry, seat: Seat | undefined, task: PublishedTask | undefined, room: string): Verdict<Ranking> {
  if (!seat) return refuse('forged', `task ${entry.taskId}: no hello from this area's student yet`);
  if (!macMatches(seat.key, rankingParts(room, seat.studentId, entry), entry.mac))
    return refuse('forged', `task ${entry.taskId}: not from ${seat.studentId}'s key`);
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
