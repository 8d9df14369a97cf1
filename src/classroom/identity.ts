/**
 * Who wrote what in a class, without trusting the shared document: x25519 key agreement and HMAC-SHA-256, in pure
 * JS (the student page is plain http on the LAN: no crypto.subtle, only crypto.getRandomValues).
 *
 * The lecturer's page makes a key pair per class and puts its public key in the join link. A student's page makes a
 * key pair once per class and keeps the secret key in its own storage; its student id is a hash of its public key,
 * so no one else can speak for that id. Both sides derive the same per-student key from the two key pairs, and every
 * message between them carries an HMAC under that key: the student's hello and rankings (checked by the lecturer),
 * the lecturer's seat for that student (checked by the student). Yjs client ids play no part: any client can claim
 * any of them. HMAC rather than signatures because the lecturer checks every ranking on its main thread: an HMAC
 * costs microseconds where an ed25519 verification costs about a millisecond and a half.
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { HEX32_PATTERN, STUDENT_ID_CHARS, base32Of } from './codes';
import type { HelloEntry, PublishedSeat, RankingEntry, RankingTask } from './types';

const DOMAIN = 'rlhf-classroom/v1';

export interface KeyPair {
  secretKey: string;
  publicKey: string;
}

export function newKeyPair(): KeyPair {
  const secret = x25519.utils.randomSecretKey();
  return { secretKey: bytesToHex(secret), publicKey: bytesToHex(x25519.getPublicKey(secret)) };
}

export function publicKeyOf(secretKey: string): string {
  return bytesToHex(x25519.getPublicKey(hexToBytes(secretKey)));
}

/** The student id a public key speaks for. */
export function studentIdOf(publicKey: string): string {
  return base32Of(sha256(utf8ToBytes(`${DOMAIN}/student:${publicKey}`)), STUDENT_ID_CHARS);
}

/** The key the two sides share (x25519, then hashed), or null when `otherPublic` is no usable key. */
export function sharedKey(ownSecret: string, otherPublic: string): Uint8Array | null {
  if (!HEX32_PATTERN.test(ownSecret) || !HEX32_PATTERN.test(otherPublic)) return null;
  try {
    return sha256(x25519.getSharedSecret(hexToBytes(ownSecret), hexToBytes(otherPublic)));
  } catch {
    return null; // a low-order point: noble refuses the all-zero secret
  }
}

/** HMAC of a message given as JSON-able parts (kind first), tagged with the protocol. */
export function macOf(key: Uint8Array, parts: readonly unknown[]): string {
  return bytesToHex(hmac(sha256, key, utf8ToBytes(JSON.stringify([DOMAIN, ...parts]))));
}

/** Compares in time independent of where the strings differ. */
function sameHex(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export function macMatches(key: Uint8Array, parts: readonly unknown[], mac: unknown): boolean {
  return typeof mac === 'string' && HEX32_PATTERN.test(mac) && sameHex(macOf(key, parts), mac);
}

// ---------------------------------------------------------------- what each message's HMAC covers

export function helloParts(room: string, studentId: string, h: Omit<HelloEntry, 'mac'>): unknown[] {
  return ['hello', room, studentId, h.key, h.alias, h.at];
}

export function rankingParts(room: string, studentId: string, r: Omit<RankingEntry, 'mac'>): unknown[] {
  return ['ranking', room, studentId, r.taskId, r.order, r.submittedAt];
}

export function seatParts(room: string, studentId: string, s: Omit<PublishedSeat, 'mac'>): unknown[] {
  return ['seat', room, studentId, s.v, s.open, s.digests, s.accepted, s.removed, s.paused, s.hello];
}

/** What a student is shown of a task, hashed: the lecturer's seat names the digest of each open task. */
export function taskDigest(t: RankingTask): string {
  return bytesToHex(sha256(utf8ToBytes(JSON.stringify([DOMAIN, 'task', t.id, t.prompt, t.completions, t.iteration]))));
}
