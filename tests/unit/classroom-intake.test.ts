// The lecturer's judgement of untrusted student entries, agreement between students, and the TRL export.
import { describe, expect, it } from 'vitest';
import { AgreementTally, pairsInCommon } from '../../src/classroom/agreement';
import { sha256Hex } from '../../src/classroom/identity';
import { claimSeat, judgeRanking, readHello, readRankingEntry, type Seat } from '../../src/classroom/intake';
import { toTrlJsonl } from '../../src/classroom/trlExport';
import type { PublishedTask } from '../../src/classroom/types';

const task: PublishedTask = {
  id: 't1',
  prompt: 'Instruction: hi\nResponse:',
  completions: ['a', 'b', 'c'],
  iteration: 2,
  assignees: ['stud1'],
  publishedAt: 0,
};
const seat: Seat = { studentId: 'stud1', alias: 'Ana', clients: new Set([7]), commit: sha256Hex('s0'), removed: false };
const entry = { taskId: 't1', order: [2, 0, 1], submittedAt: 1000 };

describe('ranking entries', () => {
  it('accepts an assigned task from the seat owner, rebuilt from the lecturer copy', () => {
    const v = judgeRanking(entry, seat, 7, task);
    expect(v.ok && v.value).toMatchObject({
      id: 'stud1:t1',
      prompt: task.prompt,
      completions: ['a', 'b', 'c'],
      order: [2, 0, 1],
      source: 'user',
      labelerId: 'classroom:stud1',
    });
  });

  it('refuses forged, removed, unknown, unassigned and malformed answers', () => {
    const reason = (v: ReturnType<typeof judgeRanking>) => (v.ok ? 'ok' : v.reason);
    expect(reason(judgeRanking(entry, seat, 8, task))).toBe('forged');
    expect(reason(judgeRanking(entry, undefined, 7, task))).toBe('forged');
    expect(reason(judgeRanking(entry, { ...seat, removed: true }, 7, task))).toBe('removed');
    expect(reason(judgeRanking(entry, seat, 7, undefined))).toBe('unknown-task');
    expect(reason(judgeRanking(entry, seat, 7, { ...task, assignees: ['other'] }))).toBe('not-assigned');
    expect(reason(judgeRanking({ ...entry, order: [0, 0, 1] }, seat, 7, task))).toBe('malformed');
    expect(reason(judgeRanking({ ...entry, order: [0, 1] }, seat, 7, task))).toBe('malformed');
  });

  it('reads only well-formed, small entries under their own key', () => {
    expect(readRankingEntry('r:t1', entry).ok).toBe(true);
    const reason = (v: ReturnType<typeof readRankingEntry>) => (v.ok ? 'ok' : v.reason);
    expect(reason(readRankingEntry('r:t2', entry))).toBe('malformed');
    expect(reason(readRankingEntry('r:t1', 'x'.repeat(1000)))).toBe('oversized');
    expect(reason(readRankingEntry('r:t1', { ...entry, order: Array(300).fill(0) }))).toBe('oversized');
    expect(reason(readRankingEntry('r:t1', null))).toBe('malformed');
    expect(reason(readRankingEntry('r:t1', { ...entry, submittedAt: 'now' }))).toBe('malformed');
  });
});

describe('seats', () => {
  const hello = (h: unknown) => {
    const v = readHello(h);
    if (!v.ok) throw new Error(v.detail);
    return v.value;
  };

  it('first come takes the seat; a reload with the secret moves it; without it is forged', () => {
    const first = claimSeat(undefined, 'stud1', hello({ alias: ' Ana ', commit: sha256Hex('s0') }), 7);
    expect(first.ok && first.value.alias).toBe('Ana');
    const taken = claimSeat(seat, 'stud1', hello({ alias: 'Eve', commit: sha256Hex('e') }), 9);
    expect(taken.ok ? 'ok' : taken.reason).toBe('forged');
    const moved = claimSeat(seat, 'stud1', hello({ alias: 'Ana', commit: sha256Hex('s1'), reveal: 's0' }), 9);
    expect(moved.ok && [...moved.value.clients]).toEqual([9]);
    expect(moved.ok && moved.value.commit).toBe(sha256Hex('s1'));
    expect(readHello({ alias: 'x', commit: 'nothex' }).ok).toBe(false);
    expect(readHello({ alias: 'x'.repeat(41), commit: sha256Hex('a') }).ok).toBe(false);
  });
});

describe('agreement and export', () => {
  it('counts shared pairs ranked alike', () => {
    expect(pairsInCommon([0, 1, 2], [0, 1, 2])).toEqual({ agree: 3, pairs: 3 });
    expect(pairsInCommon([0, 1, 2], [2, 1, 0])).toEqual({ agree: 0, pairs: 3 });
    expect(pairsInCommon([0, 1, 2], [1, 0, 2])).toEqual({ agree: 2, pairs: 3 });
    const tally = new AgreementTally();
    tally.add('t', [0, 1, 2]);
    expect(tally.rate()).toBeNull();
    tally.add('t', [1, 0, 2]);
    tally.add('t', [0, 1, 2]);
    expect(tally.rate()).toBeCloseTo((2 + 3 + 2) / 9);
  });

  it('writes K(K-1)/2 TRL pairs per ranking with the annotator', () => {
    const jsonl = toTrlJsonl([{ taskId: 't1', order: [2, 0, 1], annotator: 'classroom:stud1', alias: 'Ana' }], new Map([['t1', task]]));
    const lines = jsonl
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual({
      prompt: task.prompt,
      chosen: 'c',
      rejected: 'a',
      annotator: 'classroom:stud1',
      alias: 'Ana',
      task_id: 't1',
    });
  });
});
