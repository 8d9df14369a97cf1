/**
 * Codes of the classroom (room codes, student ids, keys in hex) and the join link.
 * Only crypto.getRandomValues: the student page is served over plain http on the LAN, which is no secure context
 * (no crypto.randomUUID, no crypto.subtle there).
 */

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** 16 base32 characters = 80 random bits. The sync server refuses any room name not of this form. */
export const ROOM_CODE_PATTERN = /^[a-z2-7]{16}$/;
/** Characters of a student id (see identity.ts: a hash of the student's public key, 100 bits). */
export const STUDENT_ID_CHARS = 20;
export const STUDENT_ID_PATTERN = new RegExp(`^[a-z2-7]{${STUDENT_ID_CHARS}}$`);
/** 32 bytes in hex: public and secret keys, HMACs, task digests. */
export const HEX32_PATTERN = /^[0-9a-f]{64}$/;

/** The first `length` bytes as base32 characters, 5 bits of each. */
export function base32Of(bytes: Uint8Array, length: number): string {
  if (bytes.length < length) throw new Error(`base32Of: ${length} characters need ${length} bytes, got ${bytes.length}`);
  let out = '';
  for (let i = 0; i < length; i++) out += BASE32[bytes[i] & 31];
  return out;
}

/** `length` base32 characters from crypto.getRandomValues. */
export function randomBase32(length: number): string {
  return base32Of(crypto.getRandomValues(new Uint8Array(length)), length);
}

/** A fresh room code: the room's name on the server and its only secret. */
export function newRoomCode(): string {
  return randomBase32(16);
}

export function isRoomCode(x: unknown): x is string {
  return typeof x === 'string' && ROOM_CODE_PATTERN.test(x);
}

/** The room code shown to people: four groups of four. */
export function formatRoomCode(code: string): string {
  return code.replace(/(.{4})(?=.)/g, '$1 ');
}

export interface JoinParams {
  room: string;
  /** websocket url of the sync server, e.g. ws://192.168.1.20:8080 */
  ws: string;
  /** the lecturer's public key for this class (hex): what the student's page checks the lecturer's seat against */
  lecturer: string;
}

/** The student page with the room, the server and the lecturer's key in the hash (a hash never reaches server logs). */
export function joinLink(pageOrigin: string, params: JoinParams): string {
  const base = `${pageOrigin.replace(/\/$/, '')}/student.html`;
  return `${base}#room=${params.room}&ws=${encodeURIComponent(params.ws)}&lk=${params.lecturer}`;
}

/** Reads `#room=…&ws=…&lk=…`; null unless the room code and the key are well-formed. ws defaults to the page's own server. */
export function parseJoinHash(hash: string, pageOrigin: string): JoinParams | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const room = params.get('room');
  const lecturer = params.get('lk') ?? '';
  if (!isRoomCode(room) || !HEX32_PATTERN.test(lecturer)) return null;
  const ws = params.get('ws') || httpToWs(pageOrigin);
  if (!/^wss?:\/\/[^\s]+$/.test(ws)) return null;
  return { room, ws, lecturer };
}

/** http://host:port -> ws://host:port (https -> wss). */
export function httpToWs(origin: string): string {
  return origin.replace(/^http/, 'ws').replace(/\/$/, '');
}
