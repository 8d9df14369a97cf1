/**
 * Random codes of the classroom (room codes, student ids, secrets) and the join link.
 * Only crypto.getRandomValues: the student page is served over plain http on the LAN, which is no secure context
 * (no crypto.randomUUID, no crypto.subtle there).
 */

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/** 16 base32 characters = 80 random bits. The sync server refuses any room name not of this form. */
export const ROOM_CODE_PATTERN = /^[a-z2-7]{16}$/;
export const STUDENT_ID_PATTERN = /^[a-z2-7]{12}$/;

/** `length` base32 characters from crypto.getRandomValues (5 bits each). */
export function randomBase32(length: number): string {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let out = '';
  for (const b of bytes) out += BASE32[b & 31];
  return out;
}

/** A fresh room code: the room's name on the server and its only secret. */
export function newRoomCode(): string {
  return randomBase32(16);
}

export function isRoomCode(x: unknown): x is string {
  return typeof x === 'string' && ROOM_CODE_PATTERN.test(x);
}

/** A student's id in the room (public: other clients see it). */
export function newStudentId(): string {
  return randomBase32(12);
}

/** A secret the student keeps to itself until it reveals it to re-claim its area (128 bits). */
export function newSecret(): string {
  return randomBase32(26);
}

/** The room code shown to people: four groups of four. */
export function formatRoomCode(code: string): string {
  return code.replace(/(.{4})(?=.)/g, '$1 ');
}

export interface JoinParams {
  room: string;
  /** websocket url of the sync server, e.g. ws://192.168.1.20:8080 */
  ws: string;
}

/** The student page with the room and the server in the hash (a hash never reaches server logs). */
export function joinLink(pageOrigin: string, params: JoinParams): string {
  return `${pageOrigin.replace(/\/$/, '')}/student.html#room=${params.room}&ws=${encodeURIComponent(params.ws)}`;
}

/** Reads `#room=…&ws=…`; null unless the room code is well-formed. ws defaults to the page's own server. */
export function parseJoinHash(hash: string, pageOrigin: string): JoinParams | null {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const room = params.get('room');
  if (!isRoomCode(room)) return null;
  const ws = params.get('ws') || httpToWs(pageOrigin);
  if (!/^wss?:\/\/[^\s]+$/.test(ws)) return null;
  return { room, ws };
}

/** http://host:port -> ws://host:port (https -> wss). */
export function httpToWs(origin: string): string {
  return origin.replace(/^http/, 'ws').replace(/\/$/, '');
}
