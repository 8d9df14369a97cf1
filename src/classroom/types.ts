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

/**
 * The lecturer's record of one student, as that student's page reads it: open tasks, accepted count, whether it was
 * removed, whether intake is paused. The HMAC under the student's key (identity.ts) makes it the lecturer's word.
 */
export interface PublishedSeat {
  /** rises with every publication, so an older seat written back by someone else is ignored */
  v: number;
  open: string[];
  /** taskDigest of each open task, in the same order: what the student may be shown */
  digests: string[];
  accepted: number;
  removed: boolean;
  paused: boolean;
  /** `at` of the last hello the lecturer took from this student */
  hello: number;
  mac: string;
}

/** What a student writes under `r:<taskId>` in its own area. Everything else comes from the lecturer's copy of the task. */
export interface RankingEntry {
  taskId: string;
  /** completion indices, best first */
  order: number[];
  /** ms since the epoch, the student's clock (for latency figures only) */
  submittedAt: number;
  /** HMAC under the student's key (identity.ts) */
  mac: string;
}

/** What a student writes under `hello` in its own area when it joins (again) or changes its alias. */
export interface HelloEntry {
  alias: string;
  /** the student's public key (hex): its student id is a hash of it */
  key: string;
  /** ms since the epoch, rising: an older hello written back by someone else is ignored */
  at: number;
  /** HMAC under the student's key */
  mac: string;
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
