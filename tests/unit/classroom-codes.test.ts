// Room codes, join links, student keys and HMACs, and tap-to-order: the pure parts of classroom mode.
import { describe, expect, it } from 'vitest';
import { isRoomCode, joinLink, newRoomCode, parseJoinHash, ROOM_CODE_PATTERN, STUDENT_ID_PATTERN } from '../../src/classroom/codes';
import { macMatches, macOf, newKeyPair, publicKeyOf, sharedKey, studentIdOf } from '../../src/classroom/identity';
import { isComplete, nudge, startOrder, tap } from '../../src/classroom/tapOrder';

describe('room codes and join links', () => {
  it('room codes carry 80 random bits and match the server pattern', () => {
    const codes = new Set(Array.from({ length: 200 }, newRoomCode));
    expect(codes.size).toBe(200);
    for (const c of codes) expect(c).toMatch(ROOM_CODE_PATTERN);
    expect(16 * Math.log2(32)).toBeGreaterThanOrEqual(64);
    expect(studentIdOf(newKeyPair().publicKey)).toMatch(STUDENT_ID_PATTERN);
    expect(isRoomCode('abc')).toBe(false);
    expect(isRoomCode('../../etc/passwd')).toBe(false);
  });

  it('a join link round-trips; a bad room, server or lecturer key is refused', () => {
    const room = newRoomCode();
    const lecturer = newKeyPair().publicKey;
    const link = joinLink('http://192.168.1.20:8080/', { room, ws: 'ws://192.168.1.20:8080', lecturer });
    expect(link).toBe(`http://192.168.1.20:8080/student.html#room=${room}&ws=ws%3A%2F%2F192.168.1.20%3A8080&lk=${lecturer}`);
    const url = new URL(link);
    expect(parseJoinHash(url.hash, url.origin)).toEqual({ room, ws: 'ws://192.168.1.20:8080', lecturer });
    expect(parseJoinHash(`#room=${room}&lk=${lecturer}`, 'http://10.0.0.2:8080')).toEqual({ room, ws: 'ws://10.0.0.2:8080', lecturer });
    expect(parseJoinHash(`#room=short&lk=${lecturer}`, 'http://x')).toBeNull();
    expect(parseJoinHash(`#room=${room}&ws=javascript:alert(1)&lk=${lecturer}`, 'http://x')).toBeNull();
    expect(parseJoinHash(`#room=${room}`, 'http://x')).toBeNull();
    expect(parseJoinHash(`#room=${room}&lk=${lecturer.slice(2)}`, 'http://x')).toBeNull();
  });
});

describe('student keys and HMACs', () => {
  it('x25519 public keys match the RFC 7748 vector', () => {
    expect(publicKeyOf('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
  });

  it('a student id follows from its key alone; the shared key is the same on both sides and no one else', () => {
    const student = newKeyPair();
    const lecturer = newKeyPair();
    const eve = newKeyPair();
    expect(studentIdOf(student.publicKey)).toBe(studentIdOf(publicKeyOf(student.secretKey)));
    expect(studentIdOf(eve.publicKey)).not.toBe(studentIdOf(student.publicKey));
    const atStudent = sharedKey(student.secretKey, lecturer.publicKey)!;
    expect(sharedKey(lecturer.secretKey, student.publicKey)).toEqual(atStudent);
    expect(sharedKey(eve.secretKey, lecturer.publicKey)).not.toEqual(atStudent);
    expect(sharedKey(lecturer.secretKey, '00'.repeat(32))).toBeNull(); // a low-order point
    expect(sharedKey(lecturer.secretKey, 'not hex')).toBeNull();
  });

  it('an HMAC opens only with the same key over the same parts', () => {
    const key = sharedKey(newKeyPair().secretKey, newKeyPair().publicKey)!;
    const other = sharedKey(newKeyPair().secretKey, newKeyPair().publicKey)!;
    const parts = ['ranking', 'room', 'student', 't1', [2, 0, 1], 1000];
    const mac = macOf(key, parts);
    expect(macMatches(key, parts, mac)).toBe(true);
    expect(macMatches(key, ['ranking', 'room', 'student', 't1', [0, 2, 1], 1000], mac)).toBe(false);
    expect(macMatches(key, ['ranking', 'room', 'other', 't1', [2, 0, 1], 1000], mac)).toBe(false);
    expect(macMatches(other, parts, mac)).toBe(false);
    expect(macMatches(key, parts, mac.toUpperCase())).toBe(false);
    expect(macMatches(key, parts, undefined)).toBe(false);
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
