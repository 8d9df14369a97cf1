// The lecturer's judgement of untrusted student entries, agreement between students, and the TRL export.
import { describe, expect, it } from 'vitest';
import { AgreementTally, pairsInCommon } from '../../src/classroom/agreement';
import { helloParts, macOf, newKeyPair, rankingParts, sharedKey, studentIdOf } from '../../src/classroom/identity';
import { claimSeat, judgeRanking, readHello, readRankingEntry, type Seat } from '../../src/classroom/intake';
import { toTrlJsonl } from '../../src/classroom/trlExport';
import type { HelloEntry, PublishedTask, RankingEntry } from '../../src/classroom/types';

const room = 'abcdefghijklmnop';
const lecturer = newKeyPair();
const ana = newKeyPair();
const eve = newKeyPair();
const anaId = studentIdOf(ana.publicKey);
const anaKey = sharedKey(ana.secretKey, lecturer.publicKey)!;
const eveKey = sharedKey(eve.secretKey, lecturer.publicKey)!;

const task: PublishedTask = {
  id: 't1',
  prompt: 'Instruction: hi\nResponse:',
  completions: ['a', 'b', 'c'],
  iteration: 2,
  assignees: [anaId],
  publishedAt: 0,
};
const seat: Seat = { studentId: anaId, alias: 'Ana', publicKey: ana.publicKey, key: anaKey, helloAt: 1, removed: false };

function signed(unsigned: Omit<RankingEntry, 'mac'>, key = anaKey, inRoom = room, studentId = anaId): RankingEntry {
  return { ...unsigned, mac: macOf(key, rankingParts(inRoom, studentId, unsigned)) };
}
const entry = signed({ taskId: 't1', order: [2, 0, 1], submittedAt: 1000 });

describe('ranking entries', () => {
  it("accepts an assigned task with its student's HMAC, rebuilt from the lecturer copy", () => {
    const v = judgeRanking(entry, seat, task, room);
    expect(v.ok && v.value).toMatchObject({
      id: `${anaId}:t1`,
      prompt: task.prompt,
      completions: ['a', 'b', 'c'],
      order: [2, 0, 1],
      source: 'user',
      labelerId: `classroom:${anaId}`,
    });
  });

  it('refuses forged, removed, unknown, unassigned and malformed answers', () => {
    const reason = (v: ReturnType<typeof judgeRanking>) => (v.ok ? 'ok' : v.reason);
    expect(reason(judgeRanking({ ...entry, mac: '0'.repeat(64) }, seat, task, room))).toBe('forged');
    expect(reason(judgeRanking({ ...entry, order: [0, 1, 2] }, seat, task, room))).toBe('forged'); // the HMAC covers the order
    expect(reason(judgeRanking(signed({ taskId: 't1', order: [0, 1, 2], submittedAt: 1 }, eveKey), seat, task, room))).toBe('forged');
    expect(
      reason(judgeRanking(signed({ taskId: 't1', order: [2, 0, 1], submittedAt: 1000 }, anaKey, 'otherroomabcdefg'), seat, task, room)),
    ).toBe('forged');
    expect(reason(judgeRanking(entry, undefined, task, room))).toBe('forged');
    expect(reason(judgeRanking(entry, { ...seat, removed: true }, task, room))).toBe('removed');
    expect(reason(judgeRanking(entry, seat, undefined, room))).toBe('unknown-task');
    expect(reason(judgeRanking(entry, seat, { ...task, assignees: ['other'] }, room))).toBe('not-assigned');
    expect(reason(judgeRanking(signed({ taskId: 't1', order: [0, 0, 1], submittedAt: 1 }), seat, task, room))).toBe('malformed');
    expect(reason(judgeRanking(signed({ taskId: 't1', order: [0, 1], submittedAt: 1 }), seat, task, room))).toBe('malformed');
  });

  it('reads only well-formed, small entries under their own key', () => {
    expect(readRankingEntry('r:t1', entry).ok).toBe(true);
    const reason = (v: ReturnType<typeof readRankingEntry>) => (v.ok ? 'ok' : v.reason);
    expect(reason(readRankingEntry('r:t2', entry))).toBe('malformed');
    expect(reason(readRankingEntry('r:t1', 'x'.repeat(1000)))).toBe('oversized');
    expect(reason(readRankingEntry('r:t1', { ...entry, order: Array(300).fill(0) }))).toBe('oversized');
    expect(reason(readRankingEntry('r:t1', null))).toBe('malformed');
    expect(reason(readRankingEntry('r:t1', { ...entry, submittedAt: 'now' }))).toBe('malformed');
    expect(reason(readRankingEntry('r:t1', { ...entry, mac: undefined }))).toBe('forged'); // anyone's entry, not proven the student's
  });
});

describe('seats', () => {
  const hello = (h: Omit<HelloEntry, 'mac'>, key = anaKey, studentId = anaId) => {
    const v = readHello({ ...h, mac: macOf(key, helloParts(room, studentId, h)) });
    if (!v.ok) throw new Error(v.detail);
    return v.value;
  };
  const claim = (s: Seat | undefined, h: HelloEntry) => claimSeat(s, anaId, h, room, lecturer.secretKey);
  const reason = (v: ReturnType<typeof claimSeat>) => (v.ok ? 'ok' : v.reason);

  it("the key whose hash is the id takes the seat; a newer hello renames; another's key, no HMAC or an older hello is forged", () => {
    const first = claim(undefined, hello({ alias: ' Ana ', key: ana.publicKey, at: 1 }));
    expect(first.ok && first.value).toMatchObject({ studentId: anaId, alias: 'Ana', publicKey: ana.publicKey, helloAt: 1 });
    expect(first.ok && first.value.key).toEqual(anaKey);
    // Eve with her own key and HMAC: her key is not the one of Ana's id
    expect(reason(claim(seat, hello({ alias: 'Eve', key: eve.publicKey, at: 9 }, eveKey)))).toBe('forged');
    expect(reason(claim(undefined, hello({ alias: 'Eve', key: eve.publicKey, at: 9 }, eveKey)))).toBe('forged');
    // Eve with Ana's public key: she cannot make Ana's HMAC
    expect(reason(claim(seat, hello({ alias: 'Eve', key: ana.publicKey, at: 9 }, eveKey)))).toBe('forged');
    const renamed = claim(seat, hello({ alias: 'Ana B', key: ana.publicKey, at: 2 }));
    expect(renamed.ok && renamed.value).toMatchObject({ alias: 'Ana B', helloAt: 2, key: anaKey });
    expect(reason(claim({ ...seat, helloAt: 5 }, hello({ alias: 'Old', key: ana.publicKey, at: 4 })))).toBe('forged');
    expect(readHello({ alias: 'x', key: 'nothex', at: 1, mac: '' }).ok).toBe(false);
    expect(readHello({ alias: 'x'.repeat(41), key: ana.publicKey, at: 1, mac: '' }).ok).toBe(false);
    expect(readHello({ alias: 'x', key: ana.publicKey, at: 'now', mac: '' }).ok).toBe(false);
    const noMac = readHello({ alias: 'x', key: ana.publicKey, at: 1 });
    expect(noMac.ok ? 'ok' : noMac.reason).toBe('forged');
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
