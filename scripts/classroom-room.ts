/**
 * One class on the sync server: its Yjs document and awareness, the connections in it, and the y-websocket protocol
 * (sync step 1 and 2, updates, awareness) under the server's limits. A connection is cut off, alone, when it sends
 * bytes that do not decode, would take the document past its size cap, claims too many awareness ids, or stops
 * reading (its unsent data passes the room's size plus a slack).
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import type { RawData, WebSocket } from 'ws';

export interface RoomLimits {
  /** encoded size of the room's document past which no update is taken */
  maxRoomBytes: number;
  /** unsent bytes a connection may hold beyond one copy of the whole room before it is cut off */
  sendSlackBytes: number;
  /** awareness ids (Yjs clients) one connection may speak for: a page has one */
  maxAwarenessIdsPerClient: number;
  /** ms between pings; a connection that did not answer the last one is cut off */
  pingMs: number;
}

/** Close codes in 4400-4499: y-websocket clients do not reconnect after them. */
export const CLOSE_ROOM_FULL = 4413;
export const CLOSE_MALFORMED = 4400;
const CLOSE_REASON_FULL = 'the class document reached the server size cap: end the class and start a new one';

/** Shared by all rooms: before a large send, cuts the connections holding the most unsent data if all together would pass the server's bound. */
export interface SendBudget {
  reserve(bytes: number): void;
}

/** Sends this large consult the server-wide budget; smaller ones are covered by its periodic sweep. */
const LARGE_SEND_BYTES = 64 * 1024;
const CLOSE_GRACE_MS = 1000;
const MESSAGE_SYNC = 0;
const MESSAGE_AWARENESS = 1;
const OPEN = 1;

function syncMessage(write: (encoder: encoding.Encoder) => void): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_SYNC);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

function awarenessMessage(awareness: awarenessProtocol.Awareness, clients: number[]): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarUint(encoder, MESSAGE_AWARENESS);
  encoding.writeVarUint8Array(encoder, awarenessProtocol.encodeAwarenessUpdate(awareness, clients));
  return encoding.toUint8Array(encoder);
}

/** The message in a buffer of its own: lib0 reads a length past its end as bytes of whatever shares the buffer. */
function bytesOf(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  return data instanceof ArrayBuffer ? new Uint8Array(data.slice(0)) : new Uint8Array(data);
}

export class Room {
  readonly doc = new Y.Doc();
  readonly awareness = new awarenessProtocol.Awareness(this.doc);
  /** each connection and the awareness ids it speaks for */
  readonly conns = new Map<WebSocket, Set<number>>();
  private readonly answeredPing = new Set<WebSocket>();
  private readonly pingTimer: ReturnType<typeof setInterval>;
  /** encoded size at the last measurement, and bytes of updates taken since */
  private measuredBytes = 0;
  private unmeasuredBytes = 0;
  private destroyed = false;

  constructor(
    readonly code: string,
    private readonly limits: RoomLimits,
    private readonly budget: SendBudget,
    private readonly onEmpty: (room: Room) => void,
  ) {
    this.awareness.setLocalState(null);
    this.doc.on('update', (update: Uint8Array) => this.broadcast(syncMessage((e) => syncProtocol.writeUpdate(e, update))));
    this.awareness.on('update', (change: { added: number[]; updated: number[]; removed: number[] }, origin: unknown) =>
      this.onAwareness(change, origin),
    );
    this.pingTimer = setInterval(() => this.ping(), limits.pingMs);
  }

  /** An upper bound of the document's encoded size. */
  get bytes(): number {
    return this.measuredBytes + this.unmeasuredBytes;
  }

  join(ws: WebSocket): void {
    this.conns.set(ws, new Set());
    this.answeredPing.add(ws);
    ws.on('message', (data) => this.receive(ws, bytesOf(data)));
    ws.on('pong', () => this.answeredPing.add(ws));
    ws.on('close', () => this.leave(ws));
    this.send(
      ws,
      syncMessage((e) => syncProtocol.writeSyncStep1(e, this.doc)),
    );
    const states = [...this.awareness.getStates().keys()];
    if (states.length > 0) this.send(ws, awarenessMessage(this.awareness, states));
  }

  /** Cuts a connection off at once (its unsent data is dropped). */
  cut(ws: WebSocket): void {
    ws.terminate();
    this.leave(ws);
  }

  destroy(): void {
    this.destroyed = true;
    clearInterval(this.pingTimer);
    for (const ws of [...this.conns.keys()]) this.cut(ws);
    this.awareness.destroy();
    this.doc.destroy();
  }

  private leave(ws: WebSocket): void {
    const ids = this.conns.get(ws);
    if (!ids) return;
    this.conns.delete(ws);
    this.answeredPing.delete(ws);
    awarenessProtocol.removeAwarenessStates(this.awareness, [...ids], null);
    if (this.conns.size === 0 && !this.destroyed) this.onEmpty(this);
  }

  /** Closes with a code and reason an honest client reads; one that does not answer the close is cut off soon after. */
  private close(ws: WebSocket, code: number, reason: string): void {
    ws.close(code, reason);
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
    this.leave(ws);
  }

  private send(ws: WebSocket, message: Uint8Array): void {
    if (message.length >= LARGE_SEND_BYTES) this.budget.reserve(message.length);
    if (ws.readyState !== OPEN) return;
    if (ws.bufferedAmount + message.length > this.bytes + this.limits.sendSlackBytes) return this.cut(ws);
    ws.send(message, (error) => error && this.cut(ws));
  }

  private broadcast(message: Uint8Array): void {
    for (const ws of [...this.conns.keys()]) this.send(ws, message);
  }

  private receive(ws: WebSocket, message: Uint8Array): void {
    if (!this.conns.has(ws) || ws.readyState !== OPEN) return; // cut off: the rest of its burst is ignored
    try {
      const decoder = decoding.createDecoder(message);
      const type = decoding.readVarUint(decoder);
      if (type === MESSAGE_SYNC) this.receiveSync(ws, decoder);
      else if (type === MESSAGE_AWARENESS) awarenessProtocol.applyAwarenessUpdate(this.awareness, decoding.readVarUint8Array(decoder), ws);
      // other message types (auth, awareness queries) are no part of the class: ignored, as y-websocket does
    } catch {
      this.close(ws, CLOSE_MALFORMED, 'malformed message');
    }
  }

  private receiveSync(ws: WebSocket, decoder: decoding.Decoder): void {
    const step = decoding.readVarUint(decoder);
    if (step === syncProtocol.messageYjsSyncStep1) {
      const stateVector = decoding.readVarUint8Array(decoder);
      this.send(
        ws,
        syncMessage((e) => syncProtocol.writeSyncStep2(e, this.doc, stateVector)),
      );
    } else if (step === syncProtocol.messageYjsSyncStep2 || step === syncProtocol.messageYjsUpdate) {
      const update = decoding.readVarUint8Array(decoder);
      if (!this.admits(update)) return this.close(ws, CLOSE_ROOM_FULL, CLOSE_REASON_FULL);
      Y.applyUpdate(this.doc, update, ws);
      this.unmeasuredBytes += update.length;
      if (this.unmeasuredBytes > this.limits.maxRoomBytes / 16) this.measure();
    } else throw new Error(`unknown sync step ${step}`);
  }

  /** Whether the update keeps the document within its cap; only what the room lacks counts (a reconnect resends much). */
  private admits(update: Uint8Array): boolean {
    const cap = this.limits.maxRoomBytes;
    if (this.bytes + update.length <= cap) return true;
    this.measure();
    if (this.measuredBytes + update.length <= cap) return true;
    return this.measuredBytes + Y.diffUpdate(update, Y.encodeStateVector(this.doc)).length <= cap;
  }

  private measure(): void {
    this.measuredBytes = Y.encodeStateAsUpdate(this.doc).length;
    this.unmeasuredBytes = 0;
  }

  private onAwareness({ added, updated, removed }: { added: number[]; updated: number[]; removed: number[] }, origin: unknown): void {
    const ids = this.conns.get(origin as WebSocket);
    if (ids) {
      for (const id of added) ids.add(id);
      for (const id of removed) ids.delete(id);
      if (ids.size > this.limits.maxAwarenessIdsPerClient) return this.cut(origin as WebSocket);
    }
    this.broadcast(awarenessMessage(this.awareness, [...added, ...updated, ...removed]));
  }

  private ping(): void {
    for (const ws of [...this.conns.keys()]) {
      if (!this.answeredPing.has(ws)) {
        this.cut(ws);
        continue;
      }
      this.answeredPing.delete(ws);
      ws.ping();
    }
  }
}
