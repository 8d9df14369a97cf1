/**
 * The layout of a class's Yjs document, in one place.
 *
 * Any client of the room can write anywhere in it; what counts is only what carries the right HMAC (identity.ts).
 * Lecturer-owned (students read them; the lecturer puts back whatever someone else writes there):
 *   `tasks`   Y.Map: taskId -> PublishedTask (plain JSON; a student shows one only if its seat names its digest)
 *   `seats`   Y.Map: studentId -> PublishedSeat (open tasks, accepted count, removed, paused; HMAC'd for the student)
 * Student-owned, one root map per student (root maps cannot be replaced, only written into; the student puts its own
 * entries back when someone else overwrites them):
 *   `s:<studentId>` Y.Map: `hello` -> HelloEntry, `r:<taskId>` -> RankingEntry
 */
import * as Y from 'yjs';
import type { PublishedSeat, PublishedTask } from './types';

export const TASKS_MAP = 'tasks';
export const SEATS_MAP = 'seats';
export const LECTURER_MAPS = [TASKS_MAP, SEATS_MAP] as const;
export const AREA_PREFIX = 's:';
export const RANKING_PREFIX = 'r:';
export const HELLO_KEY = 'hello';

export function areaName(studentId: string): string {
  return AREA_PREFIX + studentId;
}

export function studentArea(doc: Y.Doc, studentId: string): Y.Map<unknown> {
  return doc.getMap<unknown>(areaName(studentId));
}

export function tasksMap(doc: Y.Doc): Y.Map<PublishedTask> {
  return doc.getMap<PublishedTask>(TASKS_MAP);
}

export function seatsMap(doc: Y.Doc): Y.Map<PublishedSeat> {
  return doc.getMap<PublishedSeat>(SEATS_MAP);
}

/** The name of a root type (Yjs keeps no back-reference, so this looks it up in doc.share). */
export function rootName(doc: Y.Doc, type: unknown): string | null {
  for (const [name, value] of doc.share) if (value === type) return name;
  return null;
}

/** The root map `name`, or null when someone made that name another kind of type (a client sending garbage). */
export function safeGetMap(doc: Y.Doc, name: string): Y.Map<unknown> | null {
  try {
    return doc.getMap<unknown>(name);
  } catch {
    return null;
  }
}
