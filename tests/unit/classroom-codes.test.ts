// Room codes, join links, the seat hash chain and tap-to-order: the pure parts of classroom mode.
import { describe, expect, it } from 'vitest';
import {
  isRoomCode,
  joinLink,
  newRoomCode,
  newStudentId,
  parseJoinHash,
  ROOM_CODE_PATTERN,
  STUDENT_ID_PATTERN,
} from '../../src/classroom/codes';
import { nextLink, opensCommit, sha256Hex } from '../../src/classroom/identity';
import { isComplete, nudge, startOrder, tap } from '../../src/classroom/tapOrder';

describe('room codes and join links', () => {
  it('room codes carry 80 random bits and match the server pattern', () => {
    const codes = new Set(Array.from({ length: 200 }, newRoomCode));
    expect(codes.size).toBe(200);
    for (const c of codes) expect(c).toMatch(ROOM_CODE_PATTERN);
    expect(16 * Math.log2(32)).toBeGreaterThanOrEqual(64);
    expect(newStudentId()).toMatch(STUDENT_ID_PATTERN);
    expect(isRoomCode('abc')).toBe(false);
    expect(isRoomCode('../../etc/passwd')).toBe(false);
  });

  it('a join link round-trips; a bad room or server is refused', () => {
    const room = newRoomCode();
    const link = joinLink('http://192.168.1.20:8080/', { room, ws: 'ws://192.168.1.20:8080' });
    expect(link).toBe(`http://192.168.1.20:8080/student.html#room=${room}&ws=ws%3A%2F%2F192.168.1.20%3A8080`);
    const url = new URL(link);
    expect(parseJoinHash(url.hash, url.origin)).toEqual({ room, ws: 'ws://192.168.1.20:8080' });
    expect(parseJoinHash(`#room=${room}`, 'http://10.0.0.2:8080')).toEqual({ room, ws: 'ws://10.0.0.2:8080' });
    expect(parseJoinHash('#room=short', 'http://x')).toBeNull();
    expect(parseJoinHash(`#room=${room}&ws=javascript:alert(1)`, 'http://x')).toBeNull();
  });
});

describe('seat hash chain', () => {
  it('sha-256 matches a known vector', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('only the kept secret opens the commit', () => {
    const first = nextLink(undefined);
    expect(first.reveal).toBeUndefined();
    const second = nextLink(first.secret);
    expect(second.reveal).toBe(first.secret);
    expect(opensCommit(second.reveal, first.commit)).toBe(true);
    expect(opensCommit(first.secret, second.commit)).toBe(false);
    expect(opensCommit(undefined, first.commit)).toBe(false);
  });
});

describe('tap to order', () => {
  it('taps build the order best first, the last one falls into place, a tap takes one back', () => {
    let s = startOrder(4);
    s = tap(s, 2);
    s = tap(s, 0);
    expect(isComplete(s)).toBe(false);
    s = tap(s, 3);
    expect(s.ranked).toEqual([2, 0, 3, 1]);
    expect(isComplete(s)).toBe(true);
    s = tap(s, 0);
    expect(s.ranked).toEqual([2, 3, 1]);
    expect(nudge(s, 0, 1).ranked).toEqual([3, 2, 1]);
    expect(nudge(s, 0, -1).ranked).toEqual([2, 3, 1]);
    expect(tap(s, 9)).toBe(s);
  });
});
