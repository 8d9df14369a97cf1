// The sync server against a hostile client on the same network (issue 19): frames no honest client sends close
// that socket only, while the room's other clients keep syncing; guessed room codes get 404 and use no capacity;
// a document cannot be grown past its cap; a client that claims many awareness ids is cut off.
// Memory under clients that never read is in classroom-memory.test.ts (a server process of its own).
import { randomBytes } from 'node:crypto';
import * as encoding from 'lib0/encoding';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as awarenessProtocol from 'y-protocols/awareness';
import * as syncProtocol from 'y-protocols/sync';
import * as Y from 'yjs';
import { DEFAULT_LIMITS, startClassroomServer, type ClassroomServer, type ClassroomServerOptions } from '../../scripts/classroom';
import { CLOSE_MALFORMED, CLOSE_ROOM_FULL } from '../../scripts/classroom-room';
import { newRoomCode } from '../../src/classroom/codes';
import { connectDoc } from '../../src/classroom/connect';
import { claimRoom } from '../../src/classroom/lecturerRoom';
import { closeCode, frame, rawUpgrade, type RawSocket } from './raw-websocket';

let server: ClassroomServer | null = null;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  cleanups.splice(0).forEach((f) => f());
  await server?.close();
  server = null;
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function start(options: ClassroomServerOptions = {}): Promise<{ origin: string; ws: string }> {
  server = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: null, ...options });
  return { origin: `http://127.0.0.1:${server.port}`, ws: `ws://127.0.0.1:${server.port}` };
}

/** An honest Yjs client of the room, synced. */
async function honest(ws: string, room: string, params?: Record<string, string>): Promise<Y.Doc> {
  const doc = new Y.Doc();
  const provider = connectDoc(doc, { serverUrl: ws, room, params, WebSocketImpl: WebSocket });
  cleanups.push(() => provider.destroy());
  await new Promise<void>((done) => provider.once('sync', () => done()));
  return doc;
}

/** A write by one honest client arrives at the other. */
async function stillSyncing(a: Y.Doc, b: Y.Doc, key: string): Promise<void> {
  a.getMap('probe').set(key, key);
  await until(() => b.getMap('probe').get(key) === key, `"${key}" to reach the other client`);
}

async function lecturerRoom(origin: string): Promise<string> {
  const room = newRoomCode();
  const claim = await claimRoom(origin, room);
  expect(claim).toMatchObject({ ok: true });
  return room;
}

function syncMessage(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  write(e);
  return encoding.toUint8Array(e);
}

/** Opens a raw socket into the room, writes the bytes, half-closes if asked; resolves with how long the server took to close it. */
async function sendRaw(port: number, room: string, what: string, bytes: Buffer, end = false): Promise<number> {
  const raw = (await rawUpgrade(port, `/${room}`)) as RawSocket;
  const from = Date.now();
  raw.socket.write(bytes);
  if (end) raw.socket.end();
  await Promise.race([raw.closed, sleep(5000)]);
  expect(raw.socket.destroyed || raw.socket.readableEnded, `the server closed the socket after ${what}`).toBe(true);
  raw.socket.destroy();
  return Date.now() - from;
}

it('malformed frames close that socket only: the process lives and the room keeps syncing', async () => {
  const { origin, ws } = await start();
  const room = await lecturerRoom(origin);
  const [a, b] = [await honest(ws, room), await honest(ws, room)];
  const port = server!.port;
  const bad: Array<[string, Buffer, boolean]> = [
    ['a frame announcing more than the cap', frame(new Uint8Array(16), { announce: server!.maxPayload + 1 }), false],
    ['a frame announcing 2^53 bytes', frame(new Uint8Array(16), { announce: 2 ** 53 - 1 }), false],
    ['reserved bits RSV2 and RSV3', frame(new Uint8Array(0), { rsv: 3 }), false],
    ['reserved bit RSV1 (no compression agreed)', frame(new Uint8Array([0, 0, 0]), { rsv: 4 }), false],
    ['an unknown opcode', frame(new Uint8Array(4), { opcode: 3 }), false],
    ['a truncated frame, then end', frame(new Uint8Array(100)).subarray(0, 30), true],
    ['random bytes', randomBytes(4096), true],
    ['an undecodable sync message', frame(new Uint8Array([0, 2, 200, 1, 2])), false],
    ['an undecodable awareness message', frame(new Uint8Array([1, 50, 9, 9])), false],
  ];
  for (const [what, bytes, end] of bad) {
    expect(await sendRaw(port, room, what, bytes, end), what).toBeLessThan(5000);
    await stillSyncing(a, b, what);
  }
  // frames of random content, each on its own socket, decoded as far as they go
  for (let i = 0; i < 40; i++) {
    const raw = (await rawUpgrade(port, `/${room}`)) as RawSocket;
    raw.socket.write(frame(Buffer.concat([Buffer.from([i % 2, i % 3]), randomBytes(1 + i * 7)])));
    raw.socket.end();
    await raw.closed;
  }
  await stillSyncing(b, a, 'after random frames');
  expect(server!.roomCount()).toBe(1);
});

it('an undecodable update is refused with its own close code, and nothing of it lands in the room', async () => {
  const { origin, ws } = await start();
  const room = await lecturerRoom(origin);
  const a = await honest(ws, room);
  const raw = (await rawUpgrade(server!.port, `/${room}`)) as RawSocket;
  const closeFrame = closeCode(raw);
  raw.socket.write(frame(syncMessage((e) => syncProtocol.writeUpdate(e, randomBytes(64)))));
  expect(await closeFrame).toBe(CLOSE_MALFORMED);
  expect([...a.getMap('probe').keys()]).toEqual([]);
});

it('60 guessed room codes get 404 and use no capacity; a lecturer can still start a class', async () => {
  const { origin, ws } = await start({ maxRooms: 2 });
  for (let i = 0; i < 60; i++) {
    const guess = await rawUpgrade(server!.port, `/${newRoomCode()}`);
    expect(guess).toBe('HTTP/1.1 404 Not Found');
  }
  expect(server!.roomCount()).toBe(0);
  const room = await lecturerRoom(origin);
  const [lecturer, student] = [await honest(ws, room), await honest(ws, room)];
  await stillSyncing(lecturer, student, 'class started after the guesses');
  expect(server!.roomCount()).toBe(1);
  // the cap counts created rooms, and the lecturer is told why when it is reached
  await lecturerRoom(origin);
  const third = await claimRoom(origin, newRoomCode());
  expect(third).toEqual({ ok: false, reason: expect.stringMatching(/refused the class: .*2 classes, its cap/) });
  // a wrong token opens no room either
  expect(await rawUpgrade(server!.port, `/${newRoomCode()}?lecturer=guessed`)).toBe('HTTP/1.1 403 Forbidden');
  expect(server!.roomCount()).toBe(2);
});

it('an empty room is dropped after its idle time (within a minute by default); the lecturer re-creates it on reconnect', async () => {
  expect(DEFAULT_LIMITS.idleRoomMs).toBeLessThanOrEqual(60_000);
  const { origin, ws } = await start({ idleRoomMs: 300 });
  const claimed = await lecturerRoom(origin);
  await until(() => server!.roomCount() === 0, 'a room nobody joined to be dropped');
  expect(await rawUpgrade(server!.port, `/${claimed}`)).toBe('HTTP/1.1 404 Not Found');
  const room = await lecturerRoom(origin);
  const doc = new Y.Doc();
  const provider = connectDoc(doc, { serverUrl: ws, room, WebSocketImpl: WebSocket });
  await new Promise<void>((done) => provider.once('sync', () => done()));
  provider.destroy();
  await until(() => server!.roomCount() === 0, 'the room its last client left to be dropped');
  // the lecturer's websocket carries its token: it creates the room again when it comes back
  const lecturer = await honest(ws, room, { lecturer: server!.lecturerToken });
  expect(server!.roomCount()).toBe(1);
  const student = await honest(ws, room);
  await stillSyncing(lecturer, student, 'after the room came back');
});

it('an update that would take the room past its cap closes that client; a reconnect resending known content is taken', async () => {
  const maxRoomBytes = 64 * 1024;
  const { origin, ws } = await start({ maxRoomBytes });
  const room = await lecturerRoom(origin);
  const [a, b] = [await honest(ws, room), await honest(ws, room)];
  a.getMap('notes').set('text', randomBytes(20 * 1024).toString('base64')); // ~27 KiB
  await until(() => b.getMap('notes').has('text'), 'the notes to reach b');
  // a client whose document holds the room's content and a little more sends it all at once
  const copy = new Y.Doc();
  Y.applyUpdate(copy, Y.encodeStateAsUpdate(a));
  copy.getMap('notes').set('small', 'x');
  const returning = (await rawUpgrade(server!.port, `/${room}`)) as RawSocket;
  returning.socket.write(frame(syncMessage((e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(copy)))));
  await until(() => a.getMap('notes').get('small') === 'x', "the returning client's new entry");
  expect(returning.socket.destroyed).toBe(false);
  returning.socket.destroy();
  // one that adds more than the cap leaves is closed, and its content goes nowhere
  const grower = (await rawUpgrade(server!.port, `/${room}`)) as RawSocket;
  const growerClosed = closeCode(grower);
  const big = new Y.Doc();
  big.getMap('notes').set('huge', randomBytes(40 * 1024).toString('base64'));
  grower.socket.write(frame(syncMessage((e) => syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(big)))));
  expect(await growerClosed).toBe(CLOSE_ROOM_FULL);
  await stillSyncing(a, b, 'after the refused update');
  expect(a.getMap('notes').has('huge')).toBe(false);
  expect(Y.encodeStateAsUpdate(a).length).toBeLessThan(maxRoomBytes);
});

it('a client that speaks for more awareness ids than a page has is cut off', async () => {
  const { origin, ws } = await start();
  const room = await lecturerRoom(origin);
  const [a, b] = [await honest(ws, room), await honest(ws, room)];
  const raw = (await rawUpgrade(server!.port, `/${room}`)) as RawSocket;
  for (let i = 0; i < DEFAULT_LIMITS.maxAwarenessIdsPerClient + 2; i++) {
    const fake = new Y.Doc();
    const awareness = new awarenessProtocol.Awareness(fake);
    awareness.setLocalState({ studentId: `fake${i}` });
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, awarenessProtocol.encodeAwarenessUpdate(awareness, [fake.clientID]));
    raw.socket.write(frame(encoding.toUint8Array(e)));
    awareness.destroy();
  }
  await Promise.race([raw.closed, sleep(5000)]);
  expect(raw.socket.destroyed).toBe(true);
  await stillSyncing(a, b, 'after the awareness flood');
});
