/**
 * The sync server's rooms: a room exists only once the lecturer creates it with the server's lecturer token (made
 * at start, handed only to pages on this machine). Unknown codes are refused and use nothing; the cap counts created
 * rooms; a room nobody is connected to is dropped after a short while; and the unsent data of all connections
 * together stays under one bound (the connections holding the most are cut off first).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { WebSocket } from 'ws';
import { Room, type RoomLimits, type SendBudget } from './classroom-room';

export interface RegistryLimits extends RoomLimits {
  maxRooms: number;
  maxClientsPerRoom: number;
  /** a room nobody is connected to is dropped after this long */
  idleRoomMs: number;
  /** unsent bytes of all connections together */
  maxBufferedBytes: number;
}

export type Admission = { ok: true; room: Room } | { ok: false; status: 403 | 404 | 503; reason: string };

/** Why a room is refused, in words the lecturer's page shows as they are. */
export function refusal(kind: 'unknown' | 'token' | 'rooms' | 'clients', limits: RegistryLimits): string {
  switch (kind) {
    case 'unknown':
      return 'no class with this code on this server (a class exists once the lecturer starts it)';
    case 'token':
      return "the sync server refused this page's lecturer token (it was restarted, or the page is not on its machine)";
    case 'rooms':
      return `the sync server already holds ${limits.maxRooms} classes, its cap: end one, or restart npm run classroom`;
    case 'clients':
      return `this class already has ${limits.maxClientsPerRoom} devices connected, the server's cap`;
  }
}

const SWEEP_MS = 500;

export class RoomRegistry implements SendBudget {
  readonly lecturerToken = randomBytes(18).toString('base64url');
  private readonly rooms = new Map<string, Room>();
  private readonly idleTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly sweepTimer = setInterval(() => this.reserve(0), SWEEP_MS);

  constructor(readonly limits: RegistryLimits) {}

  get count(): number {
    return this.rooms.size;
  }

  isLecturerToken(token: unknown): boolean {
    if (typeof token !== 'string') return false;
    const given = Buffer.from(token);
    const own = Buffer.from(this.lecturerToken);
    return given.length === own.length && timingSafeEqual(given, own);
  }

  /** The lecturer's request for a room (idempotent): the caller has checked the token. */
  create(code: string): Admission {
    const existing = this.rooms.get(code);
    if (existing) return { ok: true, room: existing };
    if (this.rooms.size >= this.limits.maxRooms) return { ok: false, status: 503, reason: refusal('rooms', this.limits) };
    const room = new Room(code, this.limits, this, (r) => this.dropLater(r));
    this.rooms.set(code, room);
    this.dropLater(room); // created and never joined: dropped like an emptied one
    return { ok: true, room };
  }

  /** A websocket for the room: students need a created room; the lecturer (with its token) creates it if need be. */
  admit(code: string, token: string | null): Admission {
    if (token !== null && !this.isLecturerToken(token)) return { ok: false, status: 403, reason: refusal('token', this.limits) };
    const room = this.rooms.get(code);
    if (!room) return token !== null ? this.create(code) : { ok: false, status: 404, reason: refusal('unknown', this.limits) };
    if (room.conns.size >= this.limits.maxClientsPerRoom) return { ok: false, status: 503, reason: refusal('clients', this.limits) };
    return { ok: true, room };
  }

  join(room: Room, ws: WebSocket): void {
    if (this.rooms.get(room.code) !== room) return ws.close(1013, 'the class was dropped: try again');
    clearTimeout(this.idleTimers.get(room.code));
    this.idleTimers.delete(room.code);
    room.join(ws);
  }

  /** Cuts the connections holding the most unsent data until `bytes` more fit under the server-wide bound. */
  reserve(bytes: number): void {
    const conns: Array<{ ws: WebSocket; room: Room; buffered: number }> = [];
    let total = bytes;
    for (const room of this.rooms.values())
      for (const ws of room.conns.keys()) {
        conns.push({ ws, room, buffered: ws.bufferedAmount });
        total += ws.bufferedAmount;
      }
    if (total <= this.limits.maxBufferedBytes) return;
    conns.sort((a, b) => b.buffered - a.buffered);
    for (const { ws, room, buffered } of conns) {
      if (total <= this.limits.maxBufferedBytes || buffered === 0) break;
      room.cut(ws);
      total -= buffered;
    }
  }

  close(): void {
    clearInterval(this.sweepTimer);
    for (const timer of this.idleTimers.values()) clearTimeout(timer);
    for (const room of this.rooms.values()) room.destroy();
    this.rooms.clear();
  }

  private dropLater(room: Room): void {
    clearTimeout(this.idleTimers.get(room.code));
    this.idleTimers.set(
      room.code,
      setTimeout(() => {
        this.idleTimers.delete(room.code);
        if (room.conns.size > 0 || this.rooms.get(room.code) !== room) return;
        this.rooms.delete(room.code);
        room.destroy();
      }, this.limits.idleRoomMs),
    );
  }
}
