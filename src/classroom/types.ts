/**
 * Shapes shared by the classroom's lecturer host, student client and sync server: the task a student ranks,
 * what a student writes back, and the limits the lecturer enforces on it. No Yjs, no tfjs.
 */
import type { RankingTask as EngineTask } from '../lib/types';

/** A task to rank: K completions of one prompt, sampled from the policy at `iteration` (the engine's task, less its predictions). */
export type RankingTask = Pick<EngineTask, 'id' | 'prompt' | 'completions' | 'iteration'>;

/** A task as the lecturer publishes it: who may rank it. */
export interface PublishedTask extends RankingTask {
  /** student ids this task went to */
  assignees: string[];
  publishedAt: number;
}

/** The lecturer's public record of one student: its open tasks, accepted count, whether it was removed. */
export interface PublishedSeat {
  open: string[];
  accepted: number;
  removed: boolean;
  /** the Yjs client the lecturer takes this student's answers from */
  client: number;
}

/** What a student writes under `r:<taskId>` in its own area. Everything else comes from the lecturer's copy of the task. */
export interface RankingEntry {
  taskId: string;
  /** completion indices, best first */
  order: number[];
  /** ms since the epoch, the student's clock (for latency figures only) */
  submittedAt: number;
}

/** What a student writes under `hello` in its own area when it joins (again). */
export interface HelloEntry {
  alias: string;
  /** sha-256 (hex) of the student's current secret: whoever reveals that secret may take the area over (page reload) */
  commit: string;
  /** the previous secret, revealed to move the area to this page's Yjs client */
  reveal?: string;
}

/** The ranking handed to the engine. */
export interface AcceptedRanking {
  /** `${studentId}:${taskId}`: the same answer always has the same id */
  id: string;
  taskId: string;
  order: number[];
  annotator: string;
  studentId: string;
  submittedAt: number;
  acceptedAt: number;
}

/** Students ranking each task. */
export const ASSIGNEES_PER_TASK = 3;
/** Open tasks a student holds at a time. */
export const OPEN_TASKS_PER_STUDENT = 1;
/** A student's entry larger than this (JSON characters) is dropped as oversized. */
export const MAX_ENTRY_CHARS = 512;
export const MAX_ALIAS_CHARS = 40;
