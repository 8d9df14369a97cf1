// The sync server's gate: no room the lecturer did not create, no listing, a flooding connection is cut off, files
// are served from dist/ only, cross-origin isolated.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import WebSocket from 'ws';
import { newRoomCode } from '../../src/classroom/codes';
import { startClassroomServer, type ClassroomServer } from '../../scripts/classroom';
import { ISOLATION_HEADERS } from '../../scripts/isolation';

let server: ClassroomServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

function open(url: string): Promise<WebSocket | string> {
  return new Promise((done) => {
    const ws = new WebSocket(url);
    ws.once('open', () => done(ws));
    ws.once('unexpected-response', (_req, res) => done(`refused ${res.statusCode}`));
    ws.once('error', (e) => done(`error ${e.message}`));
  });
}

/** The lecturer's request for a room, as its page makes it. */
async function createRoom(port: number, token: string, room = newRoomCode()): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/rooms/${room}`, { method: 'POST', headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(201);
  return room;
}

it('refuses websocket paths that are not a created room and lists no rooms', async () => {
  server = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: null });
  const base = `ws://127.0.0.1:${server.port}`;
  for (const path of ['/', '/lobby', '/abc', `/${newRoomCode()}x`, `/${newRoomCode().toUpperCase()}`, `/${newRoomCode()}`])
    expect(await open(base + path)).toBe('refused 404');
  const ok = await open(`${base}/${await createRoom(server.port, server.lecturerToken)}`);
  expect(ok).toBeInstanceOf(WebSocket);
  (ok as WebSocket).close();
  const index = await fetch(`http://127.0.0.1:${server.port}/`);
  expect(index.status).toBe(404); // no files when distDir is null, and never a list of rooms
});

it('cuts off a connection that floods the room', async () => {
  server = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: null, messagesPerSecond: 50, messageBurst: 100 });
  const ws = (await open(`ws://127.0.0.1:${server.port}/${await createRoom(server.port, server.lecturerToken)}`)) as WebSocket;
  const closed = new Promise<void>((done) => ws.once('close', () => done()));
  for (let i = 0; i < 500; i++) ws.send(new Uint8Array([1, 1, 0])); // awareness updates about no clients
  await closed;
  expect(ws.readyState).toBe(WebSocket.CLOSED);
});

it('serves the built app from dist/ and nothing outside it', async () => {
  const dist = mkdtempSync(join(tmpdir(), 'classroom-dist-'));
  writeFileSync(join(dist, 'student.html'), '<p>student</p>');
  server = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: dist });
  const base = `http://127.0.0.1:${server.port}`;
  expect(await (await fetch(`${base}/student.html`)).text()).toBe('<p>student</p>');
  expect((await fetch(`${base}/../package.json`)).status).toBe(404);
  expect((await fetch(`${base}/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
  const info = await (await fetch(`${base}/classroom-info`)).json();
  expect(info.port).toBe(server.port);
  for (const path of ['/student.html', '/missing.js', '/classroom-info']) {
    const headers = (await fetch(base + path)).headers;
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) expect(headers.get(name), `${name} of ${path}`).toBe(value);
  }
});

/** GET /classroom-info with a chosen Host header (fetch may not set one). */
function infoWithHost(port: number, host: string): Promise<{ lecturerToken?: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path: '/classroom-info', headers: { Host: host } }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => done(JSON.parse(body)));
    });
    req.on('error', fail);
    req.end();
  });
}

it('hands the lecturer token only to pages on this machine, named by localhost or an address', async () => {
  server = await startClassroomServer({ port: 0, host: '127.0.0.1', distDir: null });
  expect((await infoWithHost(server.port, `127.0.0.1:${server.port}`)).lecturerToken).toBe(server.lecturerToken);
  expect((await infoWithHost(server.port, `localhost:${server.port}`)).lecturerToken).toBe(server.lecturerToken);
  // a web site that rebinds its own name to this machine reads no token
  expect((await infoWithHost(server.port, `attacker.example:${server.port}`)).lecturerToken).toBeUndefined();
  const refused = await fetch(`http://127.0.0.1:${server.port}/rooms/${newRoomCode()}`, {
    method: 'POST',
    headers: { Authorization: 'Bearer guessed' },
  });
  expect(refused.status).toBe(403);
  expect((await refused.json()).error).toMatch(/token/);
  expect(server.roomCount()).toBe(0);
});
